/* Frontdesk web chat widget: plain JavaScript, no build step.
 *
 * <script src="https://desk.example.com/channels/webchat/widget.js"
 *         data-channel="PUBLIC_ID" defer></script>
 *
 * A logged-in user of the host site is passed as data-user-id, data-email,
 * data-user-hash (and data-name), or as window.FrontdeskChat = {identity: {...}}
 * before the script runs. Everything is drawn in a shadow root, so the host
 * page's styles and the widget's never meet.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector("script[data-channel][src*='widget.js']");
  if (!script || !script.dataset.channel) {
    if (window.console) console.warn("Frontdesk chat: the script tag needs data-channel");
    return;
  }
  var channel = script.dataset.channel;
  var src = new URL(script.src, window.location.href);
  var socketUrl = (src.protocol === "https:" ? "wss://" : "ws://") + src.host +
    src.pathname.replace(/widget\.js$/, "ws/" + encodeURIComponent(channel));
  var storageKey = "frontdesk-webchat:" + channel;
  // A satisfaction survey's link in an agent's entry: rated in the chat, and
  // only ever on the Frontdesk the widget came from.
  var SURVEY = /\/surveys\/([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/;
  var surveys = src.origin + src.pathname.replace(/channels\/[^/]+\/widget\.js$/, "surveys/");
  var FATAL = { 4401: true, 4403: true, 4404: true, 4429: true };

  function identity() {
    var given = (window.FrontdeskChat && window.FrontdeskChat.identity) || null;
    if (given) return given;
    var d = script.dataset;
    if (d.userId && d.email && d.userHash) {
      return { user_id: d.userId, email: d.email, user_hash: d.userHash, name: d.name || null };
    }
    return null;
  }

  function load() {
    try { return JSON.parse(window.localStorage.getItem(storageKey) || "{}"); }
    catch (e) { return {}; }
  }
  function save(state) {
    try { window.localStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  var CSS = [
    ":host { all: initial; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    "[hidden] { display: none !important; }",
    ".fd { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;",
    "  font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1b1f24; }",
    ".launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;",
    "  background: #2454d6; color: #fff; font: inherit; font-weight: 600;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.25); }",
    "button:focus-visible, textarea:focus-visible, input:focus-visible {",
    "  outline: 3px solid #f5a623; outline-offset: 2px; }",
    ".panel { position: absolute; right: 0; bottom: 70px; width: 340px; max-width: calc(100vw - 40px);",
    "  height: 460px; max-height: calc(100vh - 110px); display: flex; flex-direction: column;",
    "  background: #fff; border-radius: 12px; overflow: hidden; box-shadow: 0 8px 30px rgba(0,0,0,.25); }",
    "header { display: flex; align-items: center; justify-content: space-between;",
    "  padding: 10px 14px; background: #2454d6; color: #fff; }",
    "header h2 { font-size: 15px; margin: 0; font-weight: 600; }",
    ".close { background: transparent; color: #fff; border: 0; font-size: 20px; cursor: pointer;",
    "  width: 32px; height: 32px; border-radius: 6px; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; background: #f5f7fa; }",
    ".entry { max-width: 80%; margin: 0 0 8px; padding: 8px 10px; border-radius: 10px;",
    "  white-space: pre-wrap; word-wrap: break-word; }",
    ".entry.visitor { margin-left: auto; background: #2454d6; color: #fff; }",
    ".entry.agent, .entry.greeting { background: #fff; border: 1px solid #dde2ea; }",
    ".entry.pending { opacity: .6; }",
    ".status { min-height: 1.4em; padding: 0 12px; font-size: 12px; color: #b3261e; }",
    "form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #dde2ea; background: #fff; }",
    "form.prechat { flex-direction: column; }",
    "label { font-size: 12px; color: #4a5361; }",
    "textarea, input { flex: 1; font: inherit; color: inherit; border: 1px solid #c3cad6;",
    "  border-radius: 8px; padding: 8px; resize: none; background: #fff; }",
    ".send, .start { border: 0; border-radius: 8px; padding: 0 14px; min-height: 36px;",
    "  background: #2454d6; color: #fff; font: inherit; cursor: pointer; }",
    ".rating { display: flex; gap: 6px; margin: 6px 0 0; white-space: normal; }",
    ".rate { min-width: 32px; min-height: 32px; border: 1px solid #2454d6; border-radius: 8px;",
    "  background: #fff; color: #2454d6; font: inherit; cursor: pointer; }",
    ".rate:disabled { opacity: .6; cursor: default; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  var host = el("div", { "data-frontdesk-webchat": channel });
  var root = host.attachShadow({ mode: "open" });
  var style = el("style");
  style.textContent = CSS;
  var wrap = el("div", { "class": "fd" });
  var launcher = el("button", {
    "class": "launcher", type: "button", "aria-expanded": "false",
    "aria-controls": "fd-panel", "aria-label": "Open chat"
  }, "Chat");
  var panel = el("div", {
    "class": "panel", id: "fd-panel", role: "dialog", "aria-labelledby": "fd-title", hidden: ""
  });
  var header = el("header");
  var title = el("h2", { id: "fd-title" }, "Chat with us");
  var close = el("button", { "class": "close", type: "button", "aria-label": "Close chat" }, "\u00d7");
  header.appendChild(title);
  header.appendChild(close);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite", tabindex: "0" });
  var status = el("div", { "class": "status", role: "status" });

  var prechat = el("form", { "class": "prechat", hidden: "" });
  var compose = el("form", { "class": "compose" });
  var label = el("label", { "for": "fd-text", "class": "sr" }, "Your message");
  var text = el("textarea", { id: "fd-text", rows: "2", placeholder: "Type your message\u2026" });
  var send = el("button", { "class": "send", type: "submit" }, "Send");
  compose.appendChild(label);
  compose.appendChild(text);
  compose.appendChild(send);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(status);
  panel.appendChild(prechat);
  panel.appendChild(compose);
  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  root.appendChild(style);
  root.appendChild(wrap);

  var state = load();
  var ws = null;
  var seen = {};          // entry id -> element
  var lastSeq = 0;        // the last entry this page has shown
  var retry = 0;
  var welcome = null;
  var outbox = [];        // messages typed while disconnected
  var typingAt = 0;       // when the agents were last told the visitor is typing
  var readSeq = 0;        // the last entry the agents were told the visitor has seen

  function setStatus(message) { status.textContent = message || ""; }

  function show(entry, pending) {
    var node = seen[entry.id];
    if (!node) {
      node = el("p", { "class": "entry " + entry.author, "data-author": entry.author });
      seen[entry.id] = node;
      log.appendChild(node);
    }
    node.textContent = entry.text;
    var survey = entry.author === "agent" && SURVEY.exec(entry.text || "");
    if (survey) node.appendChild(ratingPrompt(survey[1]));
    node.classList.toggle("pending", !!pending);
    log.scrollTop = log.scrollHeight;
  }

  function ratingPrompt(token) {
    var box = el("span", { "class": "rating", role: "group", "aria-label": "Your rating, 1 (poor) to 5 (excellent)" });
    [1, 2, 3, 4, 5].forEach(function (score) {
      var button = el("button", { "class": "rate", type: "button", "aria-label": score + " of 5" }, String(score));
      button.addEventListener("click", function () { rate(box, token, score); });
      box.appendChild(button);
    });
    return box;
  }

  function rate(box, token, score) {
    var buttons = box.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    // A form post: a simple cross-origin request, answered with CORS allowed.
    fetch(surveys + token, {
      method: "POST", body: new URLSearchParams({ score: String(score) }), credentials: "omit"
    }).then(function (response) {
      if (response.status === 201) box.textContent = "Thank you for your rating.";
      else if (response.status === 409) box.textContent = "This was rated already. Thank you.";
      else throw new Error(String(response.status));
    }).catch(function () {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      setStatus("Your rating could not be sent. Please try again.");
    });
  }

  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function transmit(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function buildPrechat(fields) {
    prechat.textContent = "";
    var intro = el("p", {}, "Before we start:");
    prechat.appendChild(intro);
    fields.forEach(function (name) {
      var id = "fd-pre-" + name;
      prechat.appendChild(el("label", { "for": id }, name === "topic" ? "What is it about?" :
        name === "email" ? "Your email" : "Your name"));
      var input = el("input", { id: id, name: name, type: name === "email" ? "email" : "text",
        autocomplete: name === "email" ? "email" : name === "name" ? "name" : "off" });
      if (name === "email" && welcome && !welcome.online) input.required = true;
      prechat.appendChild(input);
    });
    prechat.appendChild(el("button", { "class": "start", type: "submit" }, "Start chat"));
  }

  function needsPrechat() {
    return welcome && !welcome.prechat_done && !state.prechat;
  }

  function render() {
    var pre = needsPrechat();
    prechat.hidden = !pre;
    compose.hidden = pre;
  }

  function connect() {
    ws = new WebSocket(socketUrl);
    ws.onopen = function () {
      retry = 0;
      transmit({ type: "hello", session: state.session || null, identity: identity(), after: lastSeq });
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "welcome") {
        welcome = frame;
        state.session = frame.session;
        save(state);
        title.textContent = frame.title;
        if (frame.greeting && !seen.greeting) show({ id: "greeting", author: "greeting", text: frame.greeting });
        if (!frame.online && frame.offline_message && !seen.offline) {
          show({ id: "offline", author: "greeting", text: frame.offline_message });
        }
        if (welcome.prechat_fields.length) buildPrechat(welcome.prechat_fields);
        if (state.prechat && !frame.prechat_done) transmit(Object.assign({ type: "prechat" }, state.prechat));
        render();
        setStatus("");
        outbox.splice(0).forEach(transmit);
      } else if (frame.type === "entry") {
        lastSeq = Math.max(lastSeq, frame.seq);
        show(frame.entry, false);
        markRead();
      } else if (frame.type === "error") {
        setStatus(frame.detail);
        if (frame.code === "email_required") {
          // Outside opening hours: ask again, this time with the email address.
          delete state.prechat;
          save(state);
          render();
          var input = prechat.querySelector("input[name=email]");
          if (input) input.focus();
        }
      }
    };
    ws.onclose = function (event) {
      ws = null;
      if (FATAL[event.code]) { setStatus(status.textContent || "The chat is not available here."); return; }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }

  function markRead() {
    if (!panel.hidden && document.visibilityState === "visible" && lastSeq > readSeq) {
      if (transmit({ type: "read", seq: lastSeq })) readSeq = lastSeq;
    }
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    if (!ws) connect();
    markRead();
    var first = needsPrechat() ? prechat.querySelector("input") : text;
    (first || text).focus();
  }
  function shut() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else shut(); });
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); shut(); }
  });
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      compose.requestSubmit ? compose.requestSubmit() : compose.dispatchEvent(new Event("submit"));
    }
  });
  text.addEventListener("input", function () {
    var now = Date.now();
    if (text.value && now - typingAt > 3000 && transmit({ type: "typing" })) typingAt = now;
  });
  document.addEventListener("visibilitychange", markRead);
  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = text.value.trim();
    if (!value) return;
    var id = newId();
    var frame = { type: "message", id: id, text: value };
    show({ id: "v-" + id, author: "visitor", text: value }, true);
    if (!transmit(frame)) outbox.push(frame);
    text.value = "";
    text.focus();
  });
  prechat.addEventListener("submit", function (event) {
    event.preventDefault();
    var values = {};
    Array.prototype.forEach.call(prechat.querySelectorAll("input"), function (input) {
      values[input.name] = input.value.trim() || null;
    });
    state.prechat = values;
    save(state);
    transmit(Object.assign({ type: "prechat" }, values));
    render();
    text.focus();
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  // Connect at once when a conversation exists, so replies show on the launcher's page too.
  if (state.session) connect();
})();
