// The advocate console page. Everything a person writes is hostile text: it is only
// ever put into the page with textContent, never as HTML, and invisible direction or
// zero-width characters are shown as visible markers. The transcript lives only in
// this page's memory: nothing is written to localStorage, sessionStorage or cookies.
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = Number(document.querySelector('meta[name="advocate-id"]').content);
  const queueBody = document.querySelector("#queue tbody");
  const queueEmpty = document.getElementById("queue-empty");
  const queueCount = document.getElementById("queue-count");
  const chatsBox = document.getElementById("chats");
  const template = document.getElementById("chat-template");
  const announcer = document.getElementById("announcer");
  const connection = document.getElementById("connection");

  // Bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), zero-width and other
  // invisible format characters: shown as ⟦U+XXXX⟧ so nothing can hide or reorder text.
  const INVISIBLE = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]/g;

  function visible(text) {
    return String(text).replace(INVISIBLE, (c) =>
      "\u27E6U+" + c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0") + "\u27E7");
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function announce(text) {
    announcer.textContent = "";
    // A fresh text node after clearing makes screen readers read the change.
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function minutes(seconds) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return m + " min " + String(s).padStart(2, "0") + " s";
  }

  // --- alerts: a short tone made with WebAudio and a browser notification ----------
  let audio = null;
  let alerts = 0;

  function beep() {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (e) {
      // No audio device: the notification and the announcement still tell the advocate.
    }
  }

  function alertNewTicket(ticket) {
    alerts += 1;
    document.body.dataset.alerts = String(alerts);
    beep();
    const words = "New person waiting: " + ticket.alias + " (" + ticket.language +
      (ticket.urgent ? ", urgent" : "") + ")";
    announce(words);
    // The alias and language only: never anything the person wrote.
    notify(words, "ticket-" + ticket.id);
  }

  function notify(body, tag) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      new Notification("Help line", { body: body, tag: tag });
    } catch (e) {
      // Some browsers allow notifications only from a service worker; the sound still plays.
    }
  }

  document.getElementById("enable-alerts").addEventListener("click", () => {
    audio = audio || new AudioContext();
    audio.resume();
    if ("Notification" in window) Notification.requestPermission();
    beep();
  });

  // --- the socket --------------------------------------------------------------------
  let socket = null;
  let opened = false;
  let refs = 0;
  const pending = new Map();

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    announce("Not connected: the message was not sent.");
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/console/ws");
    opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      socket.send(JSON.stringify({ type: "hello", csrf: csrf }));
      connection.textContent = "Connected";
      document.body.dataset.connected = "1";
    });
    socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      document.body.dataset.connected = "0";
      if (event.code === 4401) {
        location.assign("/console/login?expired=1");
        return;
      }
      connection.textContent = "Disconnected, reconnecting…";
      fetch("/console/session", { credentials: "same-origin" }).then((response) => {
        if (response.status === 401) location.assign("/console/login?expired=1");
        else window.setTimeout(connect, opened ? 1000 : 3000);
      }, () => window.setTimeout(connect, 3000));
    });
  }

  function handle(message) {
    switch (message.type) {
      case "queue": renderQueue(message); break;
      case "opened": openChat(message); break;
      case "message": personWrote(message.ticket, message.text); break;
      case "sent": delivered(message); break;
      case "directory": directoryResults(message); break;
      case "ended": ended(message.ticket, message.reason); break;
      case "error": failed(message); break;
      case "logout": location.assign("/console/login?expired=1"); break;
      case "relay":
        connection.textContent = message.connected
          ? "Connected" : "Live link interrupted, reconnecting… messages may be delayed";
        document.body.dataset.relay = message.connected ? "1" : "0";
        break;
      default: break;
    }
  }

  // --- the queue ---------------------------------------------------------------------
  let advocates = [];
  let known = null;
  const rowsById = new Map();

  function renderQueue(message) {
    advocates = message.advocates;
    const waiting = message.tickets.filter((t) => t.status === "waiting");
    if (known !== null) {
      for (const ticket of waiting) if (!known.has(ticket.id)) alertNewTicket(ticket);
    }
    known = new Set(waiting.map((t) => t.id));
    queueCount.textContent = "(" + waiting.length + " waiting)";
    queueEmpty.hidden = message.tickets.length > 0;
    // Rows are kept while their ticket is unchanged, so a keyboard user's focus stays put.
    const rows = message.tickets.map((ticket) => {
      const signature = JSON.stringify([ticket.status, ticket.advocate, ticket.urgent, ticket.mine,
        ticket.status === "waiting" ? null : advocates.map((a) => a.id)]);
      const kept = rowsById.get(ticket.id);
      if (kept && kept.signature === signature) {
        kept.since = Date.now() - ticket.waiting_seconds * 1000;
        return kept;
      }
      const made = { node: queueRow(ticket), signature: signature,
        since: Date.now() - ticket.waiting_seconds * 1000 };
      made.waited = made.node.querySelector(".waited");
      return made;
    });
    rowsById.clear();
    for (const [i, ticket] of message.tickets.entries()) rowsById.set(ticket.id, rows[i]);
    const wanted = rows.map((row) => row.node);
    const current = [...queueBody.children];
    if (wanted.length !== current.length || wanted.some((node, i) => node !== current[i])) {
      queueBody.replaceChildren(...wanted);
    }
    for (const chat of chats.values()) fillTransfer(chat);
  }

  function queueRow(ticket) {
    const row = el("tr");
    row.dataset.ticket = String(ticket.id);
    if (ticket.urgent) row.className = "urgent";
    if (!ticket.servable) row.classList.add("other-language");
    row.append(el("td", ticket.alias), el("td", ticket.language + (ticket.servable ? "" : " (not yours)")),
      el("td", ticket.channel), el("td", ticket.urgent ? "URGENT" : "normal"));
    row.append(el("td", minutes(ticket.waiting_seconds), "waited"));
    const status = ticket.status === "waiting" ? "waiting"
      : ticket.mine ? "with you" : "with " + (ticket.advocate || "an advocate");
    row.append(el("td", status));
    const action = el("td");
    if (ticket.status === "waiting") {
      const claim = el("button", "Claim");
      claim.type = "button";
      claim.className = "claim";
      claim.setAttribute("aria-label", "Claim " + ticket.alias);
      claim.addEventListener("click", () => {
        claim.disabled = true;
        send({ type: "claim", ticket: ticket.id });
      });
      action.append(claim);
    } else if (!ticket.mine) {
      action.append(reassignControl(ticket));
    }
    row.append(action);
    return row;
  }

  function reassignControl(ticket) {
    // Supervisors see others' live chats (metadata only) and may reassign them.
    const box = el("span");
    const select = el("select");
    select.id = "reassign-" + ticket.id;
    const label = el("label", "Reassign " + ticket.alias + " to", "visually-hidden");
    label.htmlFor = select.id;
    select.append(option("", "the queue"));
    for (const a of advocates) if (a.name !== ticket.advocate) select.append(option(String(a.id), a.name));
    const go = el("button", "Reassign");
    go.type = "button";
    go.addEventListener("click", () => {
      send({ type: "transfer", ticket: ticket.id, to: select.value ? Number(select.value) : null });
    });
    box.append(label, select, go);
    return box;
  }

  window.setInterval(() => {
    for (const row of rowsById.values()) {
      row.waited.textContent = minutes(Math.max(0, Math.round((Date.now() - row.since) / 1000)));
    }
  }, 1000);

  function option(value, text) {
    const node = el("option", text);
    node.value = value;
    return node;
  }

  // --- chats -------------------------------------------------------------------------
  const chats = new Map();

  function openChat(message) {
    const ticket = message.ticket;
    if (chats.has(ticket.id)) return;
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.ticket = String(ticket.id);
    const chat = { id: ticket.id, alias: ticket.alias, node: node, log: node.querySelector(".log"),
      canned: message.canned, card: message.card, open: true };
    node.querySelector(".chat-title").textContent = ticket.alias;
    node.querySelector(".chat-meta").textContent = ticket.language + " · " + ticket.channel +
      " · " + ticket.country + (ticket.urgent ? " · URGENT" : "");
    node.setAttribute("aria-label", "Chat with " + ticket.alias);
    pair(node, ".compose-label", ".compose-text", "text-" + ticket.id);
    pair(node, ".canned-label", ".canned", "canned-" + ticket.id);
    pair(node, ".transfer-label", ".transfer", "transfer-" + ticket.id);
    pair(node, ".need-label", ".need", "need-" + ticket.id);
    pair(node, ".place-label", ".place", "place-" + ticket.id);
    node.querySelectorAll(".outcomes input").forEach((box, i) => { box.id = "outcome-" + ticket.id + "-" + i; });

    const select = node.querySelector(".canned");
    for (const canned of message.canned) select.append(option(canned.key, canned.own));
    const preview = node.querySelector(".canned-preview");
    const showPreview = () => {
      const chosen = message.canned.find((c) => c.key === select.value);
      preview.textContent = chosen ? "They will receive (" + ticket.language + "): " + chosen.person : "";
    };
    select.addEventListener("change", showPreview);
    showPreview();

    const form = node.querySelector(".compose");
    const box = node.querySelector(".compose-text");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = box.value;
      if (!text.trim() || !chat.open) return;
      const ref = ++refs;
      if (send({ type: "send", ticket: ticket.id, text: text, ref: ref })) {
        pending.set(ref, addLine(chat, "advocate", "You", text));
        box.value = "";
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    node.querySelector(".send-canned").addEventListener("click", () => {
      const chosen = message.canned.find((c) => c.key === select.value);
      if (!chosen || !chat.open) return;
      const ref = ++refs;
      if (send({ type: "canned", ticket: ticket.id, key: chosen.key, ref: ref })) {
        const line = addLine(chat, "advocate", "You (canned)", chosen.person);
        if (chosen.own !== chosen.person) line.append(el("span", "In your language: " + chosen.own, "own"));
        pending.set(ref, line);
      }
    });
    node.querySelector(".send-card").addEventListener("click", () => {
      if (!chat.open) return;
      const ref = ++refs;
      if (send({ type: "card", ticket: ticket.id, ref: ref })) {
        pending.set(ref, addLine(chat, "advocate", "You (hotline card)", message.card.person));
      }
    });
    const needs = node.querySelector(".need");
    for (const need of message.needs) needs.append(option(need.code, need.label));
    node.querySelector(".directory").addEventListener("submit", (event) => {
      event.preventDefault();
      if (!chat.open) return;
      const place = node.querySelector(".place");
      const error = node.querySelector(".directory-error");
      if (!place.value.trim()) {
        error.textContent = "Type a ZIP code or a city name.";
        place.focus();
        return;
      }
      // The place goes to the server for this one search and is not kept there.
      if (send({ type: "directory_search", ticket: ticket.id, need: needs.value, place: place.value })) {
        error.textContent = "";
        node.querySelector(".directory-status").textContent = "Searching…";
        node.querySelector(".directory-results").replaceChildren();
      }
    });
    node.querySelector(".do-transfer").addEventListener("click", () => {
      const target = node.querySelector(".transfer").value;
      send({ type: "transfer", ticket: ticket.id, to: target ? Number(target) : null });
    });
    node.querySelector(".do-close").addEventListener("click", () => {
      const outcomes = [...node.querySelectorAll(".outcomes input:checked")].map((b) => b.value);
      if (outcomes.length === 0) {
        announce("Choose at least one outcome before closing.");
        node.querySelector(".outcomes input").focus();
        return;
      }
      send({ type: "close", ticket: ticket.id, outcomes: outcomes });
    });
    chats.set(ticket.id, chat);
    fillTransfer(chat);
    addLine(chat, "system", "", "Chat with " + ticket.alias + " opened. Nothing here is saved: " +
      "the transcript disappears when you close or reload this page.");
    chatsBox.append(node);
    node.focus();
    announce("Chat with " + ticket.alias + " opened.");
  }

  function pair(node, labelSelector, controlSelector, id) {
    node.querySelector(controlSelector).id = id;
    node.querySelector(labelSelector).htmlFor = id;
  }

  function fillTransfer(chat) {
    const select = chat.node.querySelector(".transfer");
    const chosen = select.value;
    const options = [option("", "Back to the queue")];
    for (const a of advocates) {
      if (a.id === me) continue;
      options.push(option(String(a.id), a.name + " (" + a.languages.join(", ") +
        (a.online ? ", online" : ", offline") + ")"));
    }
    select.replaceChildren(...options);
    select.value = chosen;
  }

  function addLine(chat, who, label, text) {
    const line = el("div", undefined, "line " + who);
    if (label) line.append(el("span", label + ": ", "who"));
    const body = el("span", visible(text), "text");
    body.dir = "auto";
    line.append(body);
    if (text.length > 500) line.append(el("span", "(" + text.length + " characters)", "length"));
    chat.log.append(line);
    chat.log.scrollTop = chat.log.scrollHeight;
    return line;
  }

  function directoryResults(message) {
    const chat = chats.get(message.ticket);
    if (!chat || !chat.open) return;
    const error = chat.node.querySelector(".directory-error");
    const status = chat.node.querySelector(".directory-status");
    const list = chat.node.querySelector(".directory-results");
    list.replaceChildren(...message.results.map((result, i) => serviceItem(chat, result, i)));
    error.textContent = message.error || "";
    const found = message.results.length === 1 ? "1 service found." : message.results.length + " services found.";
    status.textContent = message.error ? "" : (message.note ? found + " " + message.note : found);
    if (message.error) chat.node.querySelector(".place").focus();
    announce(message.error || status.textContent);
  }

  function serviceItem(chat, result, i) {
    const item = el("li", undefined, "service");
    const name = el("strong", result.name);
    name.id = "service-" + chat.id + "-" + i;
    item.append(name);
    for (const fact of [result.distance, result.hours, result.languages]) {
      if (fact) item.append(el("span", fact, "fact"));
    }
    const button = el("button", "Send to person", "send-service");
    button.type = "button";
    button.setAttribute("aria-describedby", name.id);
    button.addEventListener("click", () => {
      if (!chat.open) return;
      const ref = ++refs;
      if (send({ type: "directory_card", ticket: chat.id, service: result.service, ref: ref })) {
        const line = addLine(chat, "advocate", "You (service card)", result.person);
        if (result.own !== result.person) line.append(el("span", "In your language: " + result.own, "own"));
        pending.set(ref, line);
      }
    });
    item.append(button);
    return item;
  }

  function personWrote(ticketId, text) {
    const chat = chats.get(ticketId);
    if (!chat) return;
    addLine(chat, "person", chat.alias, text);
    announce("New message from " + chat.alias);
    if (document.hidden) notify("New message from " + chat.alias, "chat-" + ticketId);
  }

  function delivered(message) {
    const line = pending.get(message.ref);
    pending.delete(message.ref);
    if (line && !message.ok) {
      line.classList.add("failed");
      line.append(el("span", "Not delivered.", "warning"));
      announce("A message was not delivered.");
    }
  }

  const ENDINGS = {
    closed: "The chat is closed. The person got the closing message.",
    left: "The person left the chat.",
    transferred: "The chat was transferred.",
    gone: "This chat is no longer yours.",
  };

  function ended(ticketId, reason) {
    const chat = chats.get(ticketId);
    if (!chat || !chat.open) return;
    chat.open = false;
    addLine(chat, "system", "", ENDINGS[reason] || ENDINGS.gone);
    chat.node.classList.add("ended");
    chat.node.querySelector(".place").value = "";
    chat.node.querySelectorAll("textarea, select, input, .tools button, .compose button")
      .forEach((control) => { control.disabled = true; });
    const remove = el("button", "Remove this transcript from the page");
    remove.type = "button";
    remove.className = "remove";
    remove.addEventListener("click", () => {
      chat.node.remove();
      chats.delete(ticketId);
    });
    chat.node.append(remove);
    announce("Chat with " + chat.alias + ": " + (ENDINGS[reason] || ENDINGS.gone));
  }

  function failed(message) {
    const chat = chats.get(message.ticket);
    const text = "Could not do that: " + message.message;
    const line = pending.get(message.ref);
    pending.delete(message.ref);
    if (line) {
      line.classList.add("failed");
      line.append(el("span", "Not sent.", "warning"));
    }
    if (chat) addLine(chat, "system", "", text);
    announce(text);
    const claim = document.querySelector('tr[data-ticket="' + Number(message.ticket) + '"] .claim');
    if (claim) claim.disabled = false;
    document.getElementById("problem").textContent = text;
  }

  // --- inactivity: the server signs out an idle session; activity keeps it alive --------
  let active = false;
  for (const kind of ["keydown", "pointerdown"]) {
    document.addEventListener(kind, () => { active = true; }, { passive: true });
  }
  window.setInterval(() => {
    if (active && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "active" }));
      active = false;
    }
  }, 30000);

  connect();
})();
