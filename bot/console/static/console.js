// The advocate console page: an inbox (the queue and your chats beside one open chat).
// Everything a person writes is hostile text: it is only ever put into the page with
// textContent, never as HTML, and invisible direction or zero-width characters are shown
// as visible markers. The transcript and notes live only in this page's memory: nothing is
// written to localStorage, sessionStorage or cookies; a transfer hands them to the next
// advocate's page over the live connection.
"use strict";

// The page's own sentences in the advocate's console language (console.po, by English text).
const CONSOLE_WORDS = JSON.parse((document.getElementById("console-words") || {}).textContent || "{}");
function tr(text) { return CONSOLE_WORDS[text] || text; }
// A sentence with {placeholders}: translated first, then filled (values are never re-read).
function trf(template, values) {
  return fill(tr(template), values);
}
function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
// A sentence with a count, by the language's plural rules (CLDR categories, as console.po
// has them): the English "other" form is the key; the count is written with Latin digits.
const CONSOLE_PLURALS = JSON.parse((document.getElementById("console-plurals") || {}).textContent || "{}");
const PAGE_LANGUAGE = document.documentElement.lang || "en";
const PLURAL_RULES = new Intl.PluralRules(PAGE_LANGUAGE);
const NUMBERS = new Intl.NumberFormat(PAGE_LANGUAGE + "-u-nu-latn");
function trp(other, count, values) {
  const forms = CONSOLE_PLURALS[other] || {};
  const form = forms[PLURAL_RULES.select(count)] || forms.other || other;
  const shown = {};
  for (const [name, value] of Object.entries(values || {})) {
    shown[name] = typeof value === "number" ? NUMBERS.format(value) : value;
  }
  return fill(form, Object.assign(shown, { count: NUMBERS.format(count) }));
}
// Languages, channels and countries by name in the console language; the server sends codes.
const NAMES = JSON.parse((document.getElementById("console-names") || {}).textContent || "{}");
function named(kind, code) { return ((NAMES[kind] || {})[code]) || code; }
const languageName = (code) => named("languages", code);
const channelName = (code) => named("channels", code);
const countryName = (code) => named("countries", code);
// Times in the advocate's own time zone (chosen in the console), whatever the computer's is.
const TIME_ZONE = (document.querySelector('meta[name="time-zone"]') || {}).content || "UTC";
const CLOCK = new Intl.DateTimeFormat(PAGE_LANGUAGE + "-u-nu-latn",
  { hour: "2-digit", minute: "2-digit", timeZone: TIME_ZONE });

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = Number(document.querySelector('meta[name="advocate-id"]').content);
  const queueList = document.getElementById("queue");
  const queueEmpty = document.getElementById("queue-empty");
  const queueCount = document.getElementById("queue-count");
  const chatList = document.getElementById("chat-list");
  const chatsEmpty = document.getElementById("chats-empty");
  const chatsBox = document.getElementById("chats");
  const noChat = document.getElementById("no-chat");
  const template = document.getElementById("chat-template");
  const announcer = document.getElementById("announcer");
  const connection = document.getElementById("connection");
  const problem = document.getElementById("problem");
  const MAX_REPLY = 1600;

  // Bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), zero-width and other
  // invisible format characters: shown as ⟦U+XXXX⟧ so nothing can hide or reorder text.
  // A zero-width joiner between two emoji is how families and flags are written: kept.
  const INVISIBLE = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]/g;
  const EMOJI_PART = /^(\p{Extended_Pictographic}|\p{Emoji_Modifier}|\uFE0F)$/u;

  function joinsEmoji(whole, offset) {
    const before = Array.from(whole.slice(Math.max(0, offset - 2), offset)).pop();
    const after = Array.from(whole.slice(offset + 1, offset + 3))[0];
    return before !== undefined && after !== undefined &&
      EMOJI_PART.test(before) && EMOJI_PART.test(after);
  }

  function visible(text) {
    return String(text).replace(INVISIBLE, (c, offset, whole) => {
      if (c === "\u200D" && joinsEmoji(whole, offset)) return c;
      return "\u27E6U+" + c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0") + "\u27E7";
    });
  }

  function wellFormed(text) {
    // A lone surrogate cannot be sent as UTF-8: replace it rather than lose the message.
    return typeof text.toWellFormed === "function" ? text.toWellFormed() : text;
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function option(value, text) {
    const node = el("option", text);
    node.value = value;
    return node;
  }

  function announce(text) {
    announcer.textContent = "";
    // A fresh text node after clearing makes screen readers read the change.
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function duration(seconds) {
    if (seconds < 60) return trf("{s} s", { s: seconds });
    const m = Math.floor(seconds / 60);
    if (m < 60) return trf("{m} min {s} s", { m, s: String(seconds % 60).padStart(2, "0") });
    return trf("{h} h {m} min", { h: Math.floor(m / 60), m: String(m % 60).padStart(2, "0") });
  }

  function clock(at) {
    return CLOCK.format(new Date(at));
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
    const words = trf(ticket.urgent ? "New person waiting: {alias} ({language}, urgent)"
      : "New person waiting: {alias} ({language})",
      { alias: ticket.alias, language: languageName(ticket.language) });
    announce(words);
    // The alias and language only: never anything the person wrote.
    notify(words, "ticket-" + ticket.id);
  }

  function notify(body, tag) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      new Notification(tr("Help line"), { body: body, tag: tag });
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
  let everOpened = false;
  let failures = 0;
  let refs = 0;
  const pending = new Map();

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    announce(tr("Not connected: the message was not sent."));
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/console/ws");
    opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      everOpened = true;
      failures = 0;
      socket.send(JSON.stringify({ type: "hello", csrf: csrf }));
      connection.textContent = tr("Connected");
      document.body.dataset.connected = "1";
    });
    socket.addEventListener("message", (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (e) {
        // One frame the page cannot show must not stop the ones after it.
        document.body.dataset.frameErrors = String(Number(document.body.dataset.frameErrors || 0) + 1);
      }
    });
    socket.addEventListener("close", (event) => {
      document.body.dataset.connected = "0";
      if (event.code === 4401) {
        location.assign("/console/login?expired=1");
        return;
      }
      failures += opened ? 0 : 1;
      const refused = document.getElementById("origin-problem");
      connection.textContent = refused ? tr("Cannot connect: see the message above")
        : (!everOpened && failures >= 2)
          ? tr("Cannot connect: the server refused the live connection (check HELPLINE_PUBLIC_URL)")
          : tr("Disconnected, reconnecting…");
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
      case "message": personWrote(message); break;
      case "missed": missed(message); break;
      case "handover": handedOver(message); break;
      case "sent": delivered(message); break;
      case "directory": directoryResults(message); break;
      case "ended": ended(message.ticket, message.reason); break;
      case "error": failed(message); break;
      case "logout": location.assign("/console/login?expired=1"); break;
      case "relay":
        connection.textContent = message.connected
          ? tr("Connected") : tr("Live link interrupted, reconnecting… messages may be delayed");
        document.body.dataset.relay = message.connected ? "1" : "0";
        break;
      default: break;
    }
  }

  // --- the queue ---------------------------------------------------------------------
  let advocates = [];
  let known = null;
  let waitingNow = [];  // the waiting people shown (a screenful, more after "Show more")
  const rowsById = new Map();

  function renderQueue(message) {
    advocates = message.advocates;
    const waiting = message.tickets.filter((t) => t.status === "waiting");
    // The server names people new anywhere in the line ("arrived"); a page that shows the
    // whole line also notices one put back at the front (a chat returned to the queue).
    const fresh = new Map((message.arrived || []).map((t) => [t.id, t]));
    if (known !== null && knownWhole) {
      for (const ticket of waiting) if (!known.has(ticket.id)) fresh.set(ticket.id, ticket);
    }
    if (known !== null) for (const ticket of fresh.values()) alertNewTicket(ticket);
    known = new Set(waiting.map((t) => t.id));
    knownWhole = !message.more;
    waitingNow = waiting;
    queueCount.textContent = trp("({count} waiting)", message.waiting);
    showPaging(message, waiting.length);
    // Your own chats are in "Your chats": the queue lists the others.
    const shown = message.tickets.filter((t) => !t.mine);
    queueEmpty.textContent = tr("Nobody is waiting.");
    queueEmpty.hidden = shown.length > 0;
    // Rows are kept while their ticket is unchanged, so a keyboard user's focus stays put.
    const rows = shown.map((ticket) => {
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
    for (const [i, ticket] of shown.entries()) rowsById.set(ticket.id, rows[i]);
    const wanted = rows.map((row) => row.node);
    const current = [...queueList.children];
    if (wanted.length !== current.length || wanted.some((node, i) => node !== current[i])) {
      queueList.replaceChildren(...wanted);
    }
    for (const chat of chats.values()) fillTransfer(chat);
    if (moreFrom !== null) focusShown();
  }

  // --- the queue a screenful at a time: totals by language, "Show more" for the next page --
  const queueSummary = document.getElementById("queue-summary");
  const moreBox = document.getElementById("queue-more-box");
  const moreButton = document.getElementById("queue-more");
  const queueShown = document.getElementById("queue-shown");
  let knownWhole = false;
  let moreFrom = null;

  moreButton.addEventListener("click", () => {
    if (send({ type: "more" })) moreFrom = waitingNow.length;
  });

  function showPaging(message, shown) {
    const byLanguage = new Map();
    for (const group of message.languages || []) {
      const total = byLanguage.get(group.language) || { count: 0, urgent: 0 };
      total.count += group.count;
      if (group.urgent) total.urgent += group.count;
      byLanguage.set(group.language, total);
    }
    queueSummary.textContent = [...byLanguage].map(([code, total]) => {
      const language = languageName(code);
      return total.urgent
        ? trf("{language}: {count} ({urgent} urgent)", { language, count: total.count, urgent: total.urgent })
        : trf("{language}: {count}", { language, count: total.count });
    }).join(" · ");
    moreBox.hidden = !message.more;
    queueShown.textContent = message.more
      ? trf("Showing {shown} of {count} waiting.", { shown, count: message.waiting }) : "";
  }

  function focusShown() {
    // After "Show more", the keyboard lands on the first person newly shown.
    const row = queueList.children[moreFrom];
    moreFrom = null;
    const target = row ? row.querySelector("button") : (moreBox.hidden ? null : moreButton);
    if (target) target.focus();
    if (queueShown.textContent) announce(queueShown.textContent);
  }

  function queueRow(ticket) {
    const row = el("li", undefined, "ticket");
    row.dataset.ticket = ticket.id;
    row.dataset.alias = ticket.alias;
    if (ticket.urgent) row.classList.add("urgent");
    if (!ticket.servable) row.classList.add("other-language");
    const head = el("p", undefined, "ticket-head");
    head.append(el("strong", ticket.alias));
    if (ticket.urgent) head.append(el("span", tr("URGENT"), "badge urgent-badge"));
    row.append(head);
    const status = ticket.status === "waiting" ? tr("waiting")
      : ticket.advocate ? trf("with {advocate}", { advocate: ticket.advocate }) : tr("with an advocate");
    row.append(el("p", languageName(ticket.language) + (ticket.servable ? "" : " " + tr("(not your language)")) +
      " · " + channelName(ticket.channel) + " · " + status, "ticket-meta"));
    const waited = el("p", trf("Waiting {time}", { time: duration(ticket.waiting_seconds) }), "waited");
    row.append(waited);
    if (ticket.status === "waiting") {
      const claim = el("button", tr("Claim"));
      claim.type = "button";
      claim.className = "claim";
      claim.setAttribute("aria-label", trf("Claim {alias}", { alias: ticket.alias }));
      claim.addEventListener("click", () => {
        claim.disabled = true;
        send({ type: "claim", ticket: ticket.id });
      });
      row.append(claim);
    } else {
      row.append(reassignControl(ticket));
    }
    return row;
  }

  function reassignControl(ticket) {
    // Supervisors see others' live chats (metadata only) and may reassign them.
    const box = el("p", undefined, "reassign");
    const select = el("select");
    select.id = "reassign-" + ticket.id;
    const label = el("label", trf("Reassign {alias} to", { alias: ticket.alias }), "visually-hidden");
    label.htmlFor = select.id;
    select.append(option("", tr("the queue")));
    for (const a of advocates) if (a.name !== ticket.advocate) select.append(option(String(a.id), a.name));
    const go = el("button", tr("Reassign"));
    go.type = "button";
    go.setAttribute("aria-label", trf("Reassign {alias}", { alias: ticket.alias }));
    go.addEventListener("click", () => {
      send({ type: "transfer", ticket: ticket.id, to: select.value ? Number(select.value) : null });
    });
    box.append(label, select, go);
    return box;
  }

  window.setInterval(() => {
    for (const row of rowsById.values()) {
      row.waited.textContent = trf("Waiting {time}", { time: duration(Math.max(0, Math.round((Date.now() - row.since) / 1000))) });
    }
    for (const chat of chats.values()) listMeta(chat);
  }, 1000);

  // --- chats -------------------------------------------------------------------------
  const chats = new Map();
  let current = null;

  function openChat(message) {
    const ticket = message.ticket;
    const existing = chats.get(ticket.id);
    if (existing && existing.open) {
      existing.canned = message.canned;
      return;  // the page reconnected: the chat and its transcript are still here
    }
    const chat = buildChat(message, existing);
    chats.set(ticket.id, chat);
    fillTransfer(chat);
    renderChatList();
    select(ticket.id);
    announce(trf(existing ? "Chat with {alias} is yours again." : "Chat with {alias} opened.", { alias: ticket.alias }));
  }

  function buildChat(message, before) {
    const ticket = message.ticket;
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.ticket = ticket.id;
    const chat = { id: ticket.id, alias: ticket.alias, language: ticket.language, node: node,
      log: node.querySelector(".log"), canned: message.canned, card: message.card, open: true,
      lines: [], seen: before ? before.seen : new Set(), unread: 0,
      lastPerson: before ? before.lastPerson : null, handedOver: false };
    node.querySelector(".chat-title").textContent = ticket.alias;
    node.querySelector(".chat-meta").textContent = languageName(ticket.language) + " · " +
      channelName(ticket.channel) + " · " + countryName(ticket.country) + (ticket.urgent ? " · " + tr("URGENT") : "");
    node.setAttribute("aria-label", trf("Chat with {alias}", { alias: ticket.alias }));
    const suffix = ticket.id + "-" + (++refs);
    pair(node, ".compose-label", ".compose-text", "text-" + suffix);
    pair(node, ".canned-label", ".canned", "canned-" + suffix);
    pair(node, ".transfer-label", ".transfer", "transfer-" + suffix);
    pair(node, ".need-label", ".need", "need-" + suffix);
    pair(node, ".place-label", ".place", "place-" + suffix);
    pair(node, ".notes-label", ".notes", "notes-" + suffix);
    node.querySelectorAll(".outcomes input").forEach((box, i) => { box.id = "outcome-" + suffix + "-" + i; });

    const cannedSelect = node.querySelector(".canned");
    for (const canned of message.canned) cannedSelect.append(option(canned.key, canned.own));
    const preview = node.querySelector(".canned-preview");
    const showPreview = () => {
      const chosen = chat.canned.find((c) => c.key === cannedSelect.value);
      preview.textContent = chosen
        ? trf("They will receive ({language}): {text}", { language: languageName(ticket.language), text: chosen.person })
        : "";
    };
    cannedSelect.addEventListener("change", showPreview);
    showPreview();

    const form = node.querySelector(".compose");
    const box = node.querySelector(".compose-text");
    const counter = node.querySelector(".counter");
    let typingSent = 0;
    box.addEventListener("input", () => {
      const length = box.value.length;
      counter.textContent = length <= MAX_REPLY - 200 ? ""
        : trp(length > MAX_REPLY ? "{count} of {max} characters: too long to send" : "{count} of {max} characters",
          length, { max: MAX_REPLY });
      box.setAttribute("aria-invalid", length > MAX_REPLY ? "true" : "false");
      if (chat.open && Date.now() - typingSent > 4000) {
        typingSent = Date.now();
        send({ type: "typing", ticket: ticket.id });
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = wellFormed(box.value);
      if (!text.trim() || !chat.open) return;
      if (text.length > MAX_REPLY) {
        const words = trp("Not sent: the message is {count} characters, the limit is {max}. " +
          "Shorten it or send it in two parts.", text.length, { max: MAX_REPLY });
        addLine(chat, "system", "", words);
        announce(words);
        return;
      }
      const ref = ++refs;
      if (send({ type: "send", ticket: ticket.id, text: text, ref: ref })) {
        pending.set(ref, addLine(chat, "advocate", tr("You"), text));
        box.value = "";
        counter.textContent = "";
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    node.querySelector(".send-canned").addEventListener("click", () => sendCanned(chat));
    node.querySelector(".send-card").addEventListener("click", () => {
      if (!chat.open) return;
      const ref = ++refs;
      if (send({ type: "card", ticket: ticket.id, ref: ref })) {
        const line = addLine(chat, "advocate", tr("You (hotline card)"), chat.card.person, { ours: true });
        if (chat.card.own !== chat.card.person) ownCopy(line, chat.card.own);
        pending.set(ref, line);
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
        error.textContent = tr("Type a ZIP code or a city name.");
        place.focus();
        return;
      }
      // The place goes to the server for this one search and is not kept there.
      if (send({ type: "directory_search", ticket: ticket.id, need: needs.value, place: place.value })) {
        error.textContent = "";
        node.querySelector(".directory-status").textContent = tr("Searching…");
        node.querySelector(".directory-results").replaceChildren();
      }
    });
    node.querySelector(".do-transfer").addEventListener("click", () => {
      const target = node.querySelector(".transfer").value;
      const to = target ? Number(target) : null;
      // The transcript and notes go to the next advocate's page only, never to storage.
      const lines = chat.lines.map((l) => [l.label || l.who, l.text]);
      send({ type: "transfer", ticket: ticket.id, to: to, lines: to === null ? [] : lines,
        notes: to === null ? "" : node.querySelector(".notes").value });
    });
    node.querySelector(".do-close").addEventListener("click", () => closeChat(chat));
    if (before) {
      for (const line of before.lines) addLine(chat, line.who, line.label, line.text, { ours: line.ours, at: line.at });
      node.querySelector(".notes").value = before.node.querySelector(".notes").value;
      before.node.remove();
      addLine(chat, "system", "", tr("This chat is yours again. Earlier lines above are from this page."));
    } else {
      addLine(chat, "system", "", trf("Chat with {alias} opened. Nothing here is saved: " +
        "the transcript disappears when you close or reload this page.", { alias: ticket.alias }));
    }
    node.hidden = true;
    chatsBox.append(node);
    return chat;
  }

  function sendCanned(chat) {
    const chosen = chat.canned.find((c) => c.key === chat.node.querySelector(".canned").value);
    if (!chosen || !chat.open) return;
    const ref = ++refs;
    if (send({ type: "canned", ticket: chat.id, key: chosen.key, ref: ref })) {
      const line = addLine(chat, "advocate", tr("You (canned)"), chosen.person, { ours: true });
      if (chosen.own !== chosen.person) ownCopy(line, chosen.own);
      pending.set(ref, line);
    }
  }

  function closeChat(chat) {
    const node = chat.node;
    const outcomes = [...node.querySelectorAll(".outcomes input:checked")].map((b) => b.value);
    if (outcomes.length === 0) {
      announce(tr("Choose at least one outcome before closing."));
      node.querySelector(".outcomes input").focus();
      return;
    }
    send({ type: "close", ticket: chat.id, outcomes: outcomes });
  }

  function ownCopy(line, text) {
    line.append(el("span", trf("In your language: {text}", { text: text }), "own"));
  }

  function pair(node, labelSelector, controlSelector, id) {
    node.querySelector(controlSelector).id = id;
    node.querySelector(labelSelector).htmlFor = id;
  }

  function fillTransfer(chat) {
    const select = chat.node.querySelector(".transfer");
    const chosen = select.value;
    const options = [option("", tr("Back to the queue"))];
    for (const a of advocates) {
      if (a.id === me) continue;
      const speaks = a.languages.includes(chat.language);
      const item = option(String(a.id), trf(a.online ? "{name} ({languages}, online)" : "{name} ({languages}, offline)",
        { name: a.name, languages: a.languages.map(languageName).join(", ") }));
      // Only someone online who speaks the person's language can take the chat.
      item.disabled = !a.online || !speaks;
      options.push(item);
    }
    select.replaceChildren(...options);
    select.value = chosen;
  }

  function addLine(chat, who, label, text, extra) {
    const options = extra || {};
    const at = options.at || Date.now();
    const line = el("div", undefined, "line " + who);
    const time = el("time", clock(at), "at");
    time.dateTime = new Date(at).toISOString();
    line.append(time);
    if (label) line.append(el("span", label + ": ", "who"));
    // Our own cards carry their own direction isolates: only a person's text is flagged.
    const body = el("span", options.ours || who === "system" ? text : visible(text), "text");
    body.dir = "auto";
    line.append(body);
    if (text.length > 500) line.append(el("span", trp("({count} characters)", text.length), "length"));
    chat.log.append(line);
    chat.log.scrollTop = chat.log.scrollHeight;
    if (who !== "system") chat.lines.push({ who: who, label: label, text: text, ours: !!options.ours, at: at });
    return line;
  }

  // --- the list of your chats --------------------------------------------------------
  function renderChatList() {
    const items = [];
    for (const chat of chats.values()) {
      if (!chat.item) {
        chat.item = el("li", undefined, "ticket mine");
        const button = el("button", undefined, "pick");
        button.type = "button";
        // The accessible name is the visible text, with "Open chat with" for screen readers.
        button.append(el("span", tr("Open chat with") + " ", "visually-hidden"), el("strong", chat.alias),
          el("span", "", "unread badge"), el("span", "", "since"));
        button.addEventListener("click", () => select(chat.id, true));
        chat.item.append(button);
        chat.item.dataset.ticket = chat.id;
      }
      listMeta(chat);
      items.push(chat.item);
    }
    chatList.replaceChildren(...items);
    chatsEmpty.hidden = items.length > 0;
  }

  function listMeta(chat) {
    if (!chat.item) return;
    const button = chat.item.querySelector(".pick");
    const unread = chat.item.querySelector(".unread");
    unread.textContent = chat.unread ? " " + trp("{count} unread", chat.unread) : "";
    unread.hidden = !chat.unread;
    const since = chat.item.querySelector(".since");
    const parts = [];
    if (!chat.open) parts.push(tr("ended"));
    if (chat.lastPerson) {
      parts.push(trf("last from person {time} ago",
        { time: duration(Math.round((Date.now() - chat.lastPerson) / 1000)) }));
    }
    since.textContent = parts.join(" · ");
    chat.item.classList.toggle("current", current === chat.id);
    chat.item.classList.toggle("ended", !chat.open);
    button.setAttribute("aria-current", current === chat.id ? "true" : "false");
  }

  function select(ticketId, focus) {
    current = ticketId;
    for (const chat of chats.values()) {
      chat.node.hidden = chat.id !== ticketId;
      if (chat.id === ticketId) chat.unread = 0;
      listMeta(chat);
    }
    noChat.hidden = chats.has(ticketId);
    const chat = chats.get(ticketId);
    if (chat && focus !== false) chat.node.focus();
  }

  function personWrote(message) {
    const chat = chats.get(message.ticket);
    if (!chat) return;
    // Held messages are sent again after a reconnect: each one is shown once.
    if (chat.seen.has(message.id)) {
      send({ type: "got", ticket: message.ticket, id: message.id });
      return;
    }
    chat.seen.add(message.id);
    addLine(chat, "person", chat.alias, message.text);
    if (message.cut) {
      addLine(chat, "system", "", tr("The person's message was longer than the console takes at once: " +
        "only the first part arrived, and they were told to send the rest."));
    }
    chat.lastPerson = Date.now();
    if (current !== chat.id || document.hidden) chat.unread += 1;
    listMeta(chat);
    send({ type: "got", ticket: message.ticket, id: message.id });
    announce(trf("New message from {alias}", { alias: chat.alias }));
    if (document.hidden) notify(trf("New message from {alias}", { alias: chat.alias }), "chat-" + message.ticket);
  }

  function missed(message) {
    const chat = chats.get(message.ticket);
    if (!chat) return;
    send({ type: "got", ticket: message.ticket, id: "missed" });
    if ((chat.missedShown || 0) >= message.count) return;
    chat.missedShown = message.count;
    const words = trp("{count} messages from the person did not reach this page in time. " +
      "They were asked to send them again.", message.count);
    addLine(chat, "system missed", "", words);
    chat.node.classList.add("missed");
    announce(chat.alias + ": " + words);
  }

  function handedOver(message) {
    const chat = chats.get(message.ticket);
    send({ type: "got", ticket: message.ticket, id: "handover" });
    if (!chat || chat.handedOver) return;
    chat.handedOver = true;
    addLine(chat, "system", "", tr("Transcript passed on by the previous advocate:"));
    for (const [label, text] of message.lines) addLine(chat, "earlier", label, text);
    const notes = chat.node.querySelector(".notes");
    if (message.notes) notes.value = message.notes + (notes.value ? "\n" + notes.value : "");
  }

  function delivered(message) {
    const line = pending.get(message.ref);
    pending.delete(message.ref);
    if (line && !message.ok) {
      line.classList.add("failed");
      line.append(el("span", tr("Not delivered."), "warning"));
      announce(tr("A message was not delivered."));
    }
  }

  function directoryResults(message) {
    const chat = chats.get(message.ticket);
    if (!chat || !chat.open) return;
    const error = chat.node.querySelector(".directory-error");
    const status = chat.node.querySelector(".directory-status");
    const list = chat.node.querySelector(".directory-results");
    list.replaceChildren(...message.results.map((result, i) => serviceItem(chat, result, i)));
    error.textContent = message.error ? tr(message.error) : "";
    const found = trp("{count} services found.", message.results.length);
    status.textContent = message.error ? "" : (message.note ? found + " " + tr(message.note) : found);
    if (message.error) chat.node.querySelector(".place").focus();
    announce(message.error ? tr(message.error) : status.textContent);
  }

  function serviceItem(chat, result, i) {
    const item = el("li", undefined, "service");
    const name = el("strong", result.name);
    name.id = "service-" + chat.id + "-" + i;
    item.append(name);
    for (const fact of [result.distance, result.hours, result.languages]) {
      if (fact) item.append(el("span", fact, "fact"));
    }
    const button = el("button", tr("Send to person"), "send-service");
    button.type = "button";
    button.setAttribute("aria-describedby", name.id);
    button.addEventListener("click", () => {
      if (!chat.open) return;
      const ref = ++refs;
      if (send({ type: "directory_card", ticket: chat.id, service: result.service, ref: ref })) {
        const line = addLine(chat, "advocate", tr("You (service card)"), result.person, { ours: true });
        if (result.own !== result.person) ownCopy(line, result.own);
        pending.set(ref, line);
      }
    });
    item.append(button);
    return item;
  }

  const ENDINGS = {
    closed: tr("The chat is closed. The person got the closing message."),
    left: tr("The person left the chat."),
    transferred: tr("The chat was transferred. The person was told."),
    requeued: tr("The chat went back to the front of the queue. The person was told."),
    gone: tr("This chat is no longer yours."),
  };

  function ended(ticketId, reason) {
    const chat = chats.get(ticketId);
    if (!chat || !chat.open) return;
    const hadFocus = chat.node.contains(document.activeElement);
    chat.open = false;
    addLine(chat, "system", "", ENDINGS[reason] || ENDINGS.gone);
    chat.node.classList.add("ended");
    chat.node.querySelector(".place").value = "";
    chat.node.querySelectorAll("textarea, select, input, .tools button, .compose button")
      .forEach((control) => { control.disabled = true; });
    const remove = el("button", tr("Remove this transcript from the page"));
    remove.type = "button";
    remove.className = "remove";
    remove.addEventListener("click", () => {
      chat.node.remove();
      if (chat.item) chat.item.remove();
      chats.delete(ticketId);
      chatsEmpty.hidden = chats.size > 0;
      const next = [...chats.values()].find((c) => c.open) || chats.values().next().value;
      if (next) select(next.id);
      else {
        current = null;
        noChat.hidden = false;
        document.getElementById("queue-title").focus();
      }
    });
    chat.node.append(remove);
    listMeta(chat);
    // Focus stays with the advocate's work: on the next thing to do with this chat.
    if (hadFocus || document.activeElement === document.body) remove.focus();
    announce(trf("Chat with {alias}: {ending}", { alias: chat.alias, ending: ENDINGS[reason] || ENDINGS.gone }));
  }

  function failed(message) {
    const chat = chats.get(message.ticket);
    // A reason with a number comes with it (the server's sentence is the English "other" form).
    const reason = message.length !== undefined
      ? trp("not sent: the message is {count} characters, the limit is {max}", message.length, { max: message.limit })
      : tr(message.message);
    const text = trf("Could not do that: {reason}", { reason: reason });
    const line = pending.get(message.ref);
    pending.delete(message.ref);
    if (line) {
      line.classList.add("failed");
      line.append(el("span", tr("Not sent."), "warning"));
    }
    if (chat) addLine(chat, "system", "", text);
    announce(text);
    for (const row of queueList.querySelectorAll("li")) {
      if (row.dataset.ticket === String(message.ticket)) {
        const claim = row.querySelector(".claim");
        if (claim) claim.disabled = false;
      }
    }
    problem.textContent = text;
  }

  // --- keyboard shortcuts ---------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    const chat = chats.get(current);
    if (key === "n") {
      const ids = [...chats.keys()];
      if (ids.length === 0) return;
      const at = ids.indexOf(current);
      select(ids[(at + 1) % ids.length]);
    } else if (key === "c") {
      const next = waitingNow.find((t) => t.servable) || waitingNow[0];
      if (next) send({ type: "claim", ticket: next.id });
    } else if (key === "s" && chat) {
      sendCanned(chat);
    } else if (key === "x" && chat && chat.open) {
      closeChat(chat);
    } else {
      return;
    }
    event.preventDefault();
  });

  // --- the transcript is only in this page: say so before it is wiped --------------------
  window.addEventListener("beforeunload", (event) => {
    const talking = [...chats.values()].some((c) => c.lines.length > 0);
    if (talking) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

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
