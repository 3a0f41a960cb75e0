// The dashboard's only script: times in the viewer's zone, and live updates (no library).
(function () {
  "use strict";
  try {  // the server draws the next pages (charts' days) in this zone
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) document.cookie = "hil_tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Strict; max-age=31536000";
  } catch (e) { /* the server keeps UTC */ }

  const pad = (n) => String(n).padStart(2, "0");
  function localize(root) {
    root.querySelectorAll("time[data-epoch]").forEach((el) => {
      const d = new Date(Number(el.dataset.epoch) * 1000);
      let text = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
      if (el.hasAttribute("data-seconds")) text += ":" + pad(d.getSeconds());
      el.textContent = text;
      el.title = d.toString();
    });
  }
  localize(document);

  const live = document.getElementById("live");
  const status = document.getElementById("live-status");
  if (!live || !status) return;
  let fetching = null, again = false;
  async function refresh() {  // one fetch at a time; a change during it fetches once more
    if (fetching) { again = true; return; }
    fetching = fetch(location.href, { headers: { "X-HIL-Fragment": "1" }, cache: "no-store" });
    try {
      const response = await fetching;
      if (response.ok) { live.innerHTML = await response.text(); localize(live); }
    } catch (e) { /* the event stream says when the server is back */ }
    fetching = null;
    if (again) { again = false; refresh(); }
  }
  function connect() {
    const source = new EventSource("/events");
    source.onopen = () => { status.textContent = "live"; status.className = "live"; refresh(); };
    source.onmessage = refresh;
    source.onerror = () => {
      status.textContent = "reconnecting…"; status.className = "down";
      if (source.readyState === EventSource.CLOSED) { source.close(); setTimeout(connect, 1000); }
    };
  }
  connect();
})();
