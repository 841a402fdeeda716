// The board refreshes itself from /api/v1/board every few seconds, without reloading.
// Elements are built with textContent only: a device's text is never parsed as markup.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var every = Math.max(1, parseFloat(board.dataset.refresh || "5")) * 1000;
  var lang = board.dataset.lang || "ko";
  var canChange = board.dataset.canChange === "yes";
  var words = JSON.parse(document.getElementById("ll-words").textContent);
  var csrf = document.querySelector('meta[name="ll-csrf"]').content;
  function w(key) { return words[key] || key; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function hidden(name, value) {
    var i = el("input"); i.type = "hidden"; i.name = name; i.value = value; return i;
  }
  function ackForm(id) {
    var f = el("form", "ack"); f.method = "post"; f.action = "/alerts/ack?next=/";
    f.appendChild(hidden("csrf", csrf)); f.appendChild(hidden("id", id));
    var c = el("input"); c.name = "comment"; c.placeholder = w("comment"); c.maxLength = 500;
    f.appendChild(c); f.appendChild(el("button", null, w("Acknowledge")));
    return f;
  }
  function problem(p) {
    var a = p.alert;
    var li = el("li", "problem sev-" + a.severity + " kind-" + a.kind + (a.acked || a.silenced ? " handled" : ""));
    li.dataset.alert = a.id; li.dataset.device = a.device_id; li.dataset.state = a.state;
    li.appendChild(el("span", "sev", a.text.severity));
    li.appendChild(el("span", "state", a.text.state));
    var link = el("a", "dev", p.device_name); link.href = "/devices/" + encodeURIComponent(a.device_id);
    li.appendChild(link);
    li.appendChild(el("span", "site", p.site));
    li.appendChild(el("span", "summary", a.text.summary));
    li.appendChild(el("span", "since", (a.since || "").replace("T", " ").slice(0, 19)));
    var flags = el("span", "flags");
    if (a.acked) { flags.appendChild(el("span", "flag acked", w("acked") + (a.acked_by ? " · " + a.acked_by : "") + (a.ack_comment ? ": " + a.ack_comment : ""))); }
    if (a.silenced) { flags.appendChild(el("span", "flag silenced", w("silenced"))); }
    if (a.flapping) { flags.appendChild(el("span", "flag", w("flapping"))); }
    if (a.site_closed) { flags.appendChild(el("span", "flag", w("site closed"))); }
    li.appendChild(flags);
    if (p.behind.length) { li.appendChild(el("div", "behind", w("suppressed behind") + " (" + p.behind.length + "): " + p.behind.join(", "))); }
    if (canChange && !a.acked) { li.appendChild(ackForm(a.id)); }
    return li;
  }
  function site(s) {
    var d = el("div", "site-card" + (s.down ? " has-down" : "")); d.dataset.site = s.name;
    d.appendChild(el("h3", null, s.name));
    var p = el("p");
    p.appendChild(el("span", "n up", String(s.up))); p.appendChild(document.createTextNode(" " + w("up") + " · "));
    p.appendChild(el("span", "n down", String(s.down))); p.appendChild(document.createTextNode(" " + w("down")));
    if (s.unpolled) { p.appendChild(document.createTextNode(" · " + s.unpolled + " " + w("not polled yet"))); }
    if (s.tracked) { p.appendChild(document.createTextNode(" · " + s.tracked + " " + w("lifecycle only"))); }
    d.appendChild(p);
    if (s.kiosks.length) {
      var ul = el("ul", "kiosks");
      s.kiosks.forEach(function (k) {
        var li = el("li", k.open ? "open" : "closed");
        var a = el("a", null, k.name); a.href = "/devices/" + encodeURIComponent(k.device_id);
        li.appendChild(a); li.appendChild(document.createTextNode(" "));
        li.appendChild(el("span", null, k.open ? w("open") : w("closed")));
        li.appendChild(document.createTextNode(" ")); li.appendChild(el("small", null, k.hours_text));
        ul.appendChild(li);
      });
      d.appendChild(ul);
    }
    return d;
  }
  function typing() {
    // Someone writing an ack comment keeps their form: wait for the next round.
    var active = document.activeElement;
    return active && active.form && active.value;
  }
  function refresh() {
    if (typing()) { return; }
    fetch("/api/v1/board?lang=" + encodeURIComponent(lang), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var list = document.getElementById("problems");
        list.replaceChildren.apply(list, data.problems.map(problem));
        document.getElementById("calm").hidden = data.problems.length > 0;
        // Lifecycle notices are folded away (not down); an open fold stays open.
        var notices = document.getElementById("lifecycle-problems");
        notices.replaceChildren.apply(notices, data.lifecycle.map(problem));
        document.getElementById("lifecycle-count").textContent = String(data.lifecycle.length);
        document.getElementById("lifecycle-notices").hidden = data.lifecycle.length === 0;
        var sites = document.getElementById("sites");
        sites.replaceChildren.apply(sites, data.sites.map(site));
        document.getElementById("updated").textContent = w("updated") + " " + data.at.replace("T", " ").slice(0, 19);
        document.getElementById("not-running").hidden = data.running;
        document.getElementById("stale").hidden = true;
        board.dataset.refreshed = String(Date.now());
      })
      .catch(function () {
        // Said on the page: a wall screen must not show an old board as if it were now.
        document.getElementById("stale").hidden = false;
        board.dataset.failed = String(Date.now());
      });
  }
  setInterval(refresh, every);
}());
