// Frontdesk pages: the live inbox, the live ticket timeline, collision notices,
// canned replies and SLA countdowns. No inline script anywhere (the CSP forbids it).
"use strict";

(function () {
  const body = document.body;
  const pageName = body.dataset.page;
  const csrf = body.dataset.csrf;
  const me = body.dataset.user;
  const zh = document.documentElement.lang.startsWith("zh");
  const words = zh
    ? { viewing: " 正在查看此工单", typing: " 正在输入回复" }
    : { viewing: " is viewing this ticket", typing: " is typing a reply" };

  // --- SLA countdowns: red once due ------------------------------------------
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll(".sla[data-due]")) {
      const left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      const abs = Math.abs(left);
      const text = Math.floor(abs / 3600) + ":" + pad(Math.floor((abs % 3600) / 60)) + ":" + pad(abs % 60);
      el.textContent = (left < 0 ? "-" : "") + text;
      if (left < 0) el.classList.add("breached");
    }
  }

  // --- fragments fetched again when the socket says something changed ---------
  async function refresh(el) {
    const response = await fetch(el.dataset.src, {
      headers: { "x-csrf-token": csrf },
      credentials: "same-origin",
    });
    if (response.status === 401) { window.location.assign("/app/login"); return; }
    if (!response.ok) return;
    // Server-rendered and escaped; parsed as a fragment, never run as script.
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    el.replaceChildren(template.content);
    tick();
  }
  function debounced(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // --- the socket: the same /ws/inbox the API's clients use, signed in by the session cookie
  function connect(onFrame, onReady) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + window.location.host + "/ws/inbox");
    ws.addEventListener("message", function (e) {
      let frame;
      try { frame = JSON.parse(e.data); } catch (_) { return; }
      if (frame.type === "ready") { body.dataset.live = "1"; onReady(ws); return; }
      onFrame(frame, ws);
    });
    ws.addEventListener("close", function (e) {
      body.dataset.live = "0";
      if (e.code === 4401) { window.location.assign("/app/login"); return; }
      setTimeout(function () { connect(onFrame, onReady); }, 2000);
    });
    return ws;
  }

  if (pageName === "inbox") {
    const rows = document.getElementById("rows");
    const reload = debounced(function () { refresh(rows); }, 150);
    connect(function (frame) {
      if (frame.type === "message.created" || frame.type === "ticket.event") reload();
    }, function () {});
  }

  if (pageName === "ticket") {
    const ticket = document.querySelector("[data-ticket]").dataset.ticket;
    const timeline = document.getElementById("timeline");
    const presence = document.getElementById("presence");
    const reload = debounced(function () { refresh(timeline); }, 150);
    const others = new Map(); // user id -> {name, activity, until}
    let socket = null;

    function showPresence() {
      const now = Date.now();
      const lines = [];
      for (const [id, p] of others) {
        if (p.until < now) { others.delete(id); continue; }
        lines.push(p.name + (p.activity === "typing" ? words.typing : words.viewing));
      }
      presence.replaceChildren(...lines.map(function (line) {
        const p = document.createElement("p");
        p.className = "notice";
        p.textContent = line;
        return p;
      }));
    }
    function announce(activity) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "presence", ticket_id: ticket, activity: activity }));
      }
    }
    connect(function (frame) {
      if (frame.ticket_id !== ticket) return;
      if (frame.type === "presence") {
        const who = frame.data.user_id;
        if (who === me) return;
        const activity = frame.data.activity;
        others.set(who, {
          name: frame.data.name,
          activity: activity,
          until: Date.now() + (activity === "typing" ? 8000 : 45000),
        });
        if (activity === "joined") announce("viewing"); // so the newcomer sees us too
        showPresence();
      } else if (frame.type === "message.created" || frame.type === "ticket.event") {
        reload();
      }
    }, function (ws) {
      socket = ws;
      announce("joined");
    });
    setInterval(function () { announce("viewing"); showPresence(); }, 20000);
    const box = document.getElementById("body");
    let lastTyping = 0;
    box.addEventListener("input", function () {
      const now = Date.now();
      if (now - lastTyping > 3000) { lastTyping = now; announce("typing"); }
    });
    const canned = document.getElementById("canned");
    if (canned) {
      canned.addEventListener("change", function () {
        const option = canned.selectedOptions[0];
        if (option && option.dataset.text) {
          box.value = box.value ? box.value + "\n" + option.dataset.text : option.dataset.text;
          box.focus();
        }
        canned.value = "";
      });
    }
    // The mention picker puts "@Display Name " at the cursor; the server finds it there.
    const mention = document.getElementById("mention");
    if (mention) {
      mention.addEventListener("change", function () {
        const name = mention.value;
        if (name) {
          const at = box.selectionStart ?? box.value.length;
          const before = box.value.slice(0, at);
          const gap = before && !/\s$/.test(before) ? " " : "";
          const insert = gap + "@" + name + " ";
          box.value = before + insert + box.value.slice(at);
          box.selectionStart = box.selectionEnd = at + insert.length;
          box.focus();
        }
        mention.value = "";
      });
    }
  }

  tick();
  setInterval(tick, 1000);
})();
