// The supervisor's live board. Figures arrive over the WebSocket on every change and
// every few seconds; the page never asks. Everything is put in with textContent.
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const words = JSON.parse(document.getElementById("board-words").textContent);
  const numbers = new Intl.NumberFormat(words.lang + "-u-nu-latn");
  const lists = new Intl.ListFormat(words.lang, { type: "unit" });
  const announcer = document.getElementById("announcer");
  const connection = document.getElementById("connection");
  const result = document.getElementById("result");
  const seenUrgent = new Set();
  let socket = null;
  let online = [];

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function duration(seconds) {
    const minutes = Math.floor(seconds / 60);
    if (minutes < 1) return numbers.format(seconds) + " " + words.seconds;
    return numbers.format(minutes) + " " + words.minutes;
  }

  function languageName(code) { return words.languages[code] || code; }
  function channelName(code) { return words.channels[code] || code; }

  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function fill(tbody, rows, emptyText, columns) {
    tbody.replaceChildren();
    if (!rows.length) {
      const tr = el("tr");
      const td = el("td", emptyText);
      td.colSpan = columns;
      tr.append(td);
      tbody.append(tr);
    }
    for (const row of rows) tbody.append(row);
  }

  function reassignControls(chat) {
    const box = el("div", undefined, "reassign");
    const id = "to-" + chat.ticket;
    const label = el("label", words.reassign_to + " " + chat.alias);
    label.htmlFor = id;
    label.className = "visually-hidden";
    const select = el("select");
    select.id = id;
    select.append(new Option(words.front, ""));
    for (const advocate of online) {
      if (advocate.id === chat.advocate_id) continue;
      if (!advocate.languages.includes(chat.language)) continue;
      select.append(new Option(advocate.name, String(advocate.id)));
    }
    const button = el("button", words.reassign + " " + chat.alias);
    button.type = "button";
    button.addEventListener("click", () => {
      const to = select.value === "" ? null : Number(select.value);
      socket.send(JSON.stringify({ type: "reassign", ticket: chat.ticket, to }));
    });
    box.append(label, select, button);
    return box;
  }

  function render(board) {
    online = board.online;
    document.getElementById("waiting-total").textContent = numbers.format(board.waiting_total);
    document.getElementById("longest-wait").textContent =
      board.waiting_total ? duration(board.longest_seconds) : "–";
    document.getElementById("online-total").textContent = numbers.format(board.online.length);
    document.getElementById("chats-total").textContent = numbers.format(board.chats.length);

    const urgentList = document.getElementById("urgent-list");
    urgentList.replaceChildren();
    const fresh = [];
    for (const ticket of board.urgent) {
      const item = el("li", undefined, "urgent-ticket");
      item.dataset.ticket = ticket.ticket;
      item.append(el("strong", words.urgent + ": "), el("span", ticket.alias), el("span",
        " · " + languageName(ticket.language) + " · " + duration(ticket.waiting_seconds)));
      if (!seenUrgent.has(ticket.ticket)) {
        item.classList.add("flash");
        fresh.push(ticket);
        seenUrgent.add(ticket.ticket);
      }
      urgentList.append(item);
    }
    document.getElementById("urgent-none").hidden = board.urgent.length > 0;
    if (fresh.length) {
      announce(fresh.map((t) => words.urgent_announce.replace("{alias}", t.alias)
        .replace("{language}", languageName(t.language))).join(" "));
    }

    fill(document.querySelector("#waiting tbody"), board.waiting.map((group) => {
      const tr = el("tr", undefined, group.urgent ? "urgent" : "");
      tr.dataset.language = group.language;
      tr.dataset.urgent = group.urgent ? "1" : "0";
      tr.append(el("td", languageName(group.language)),
        el("td", group.urgent ? words.urgent : words.normal),
        el("td", numbers.format(group.count)), el("td", duration(group.longest_seconds)));
      return tr;
    }), words.nobody_waiting, 4);

    fill(document.querySelector("#chats tbody"), board.chats.map((chat) => {
      const tr = el("tr", undefined, chat.long ? "long" : "");
      tr.dataset.ticket = chat.ticket;
      const open = el("td", duration(chat.open_seconds));
      if (chat.long) open.append(el("strong", words.long, "long-mark"));
      const action = el("td");
      action.append(reassignControls(chat));
      tr.append(el("td", chat.advocate), el("td", chat.alias), el("td", languageName(chat.language)),
        el("td", channelName(chat.channel)), open, action);
      return tr;
    }), words.no_chats, 6);

    fill(document.querySelector("#online tbody"), board.online.map((advocate) => {
      const tr = el("tr");
      tr.dataset.advocate = String(advocate.id);
      tr.append(el("td", advocate.name), el("td", lists.format(advocate.languages.map(languageName))),
        el("td", words.load.replace("{chats}", numbers.format(advocate.chats))
          .replace("{max}", numbers.format(advocate.max_chats))));
      return tr;
    }), words.nobody_online, 3);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/console/supervisor/ws");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", csrf }));
      connection.textContent = words.connected;
      document.body.dataset.connected = "1";
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "board") {
        render(frame);
        document.body.dataset.boards = String(Number(document.body.dataset.boards || 0) + 1);
      } else if (frame.type === "result") {
        result.textContent = frame.message;
        result.className = frame.ok ? "ok" : "error";
      }
    });
    socket.addEventListener("close", (event) => {
      document.body.dataset.connected = "0";
      connection.textContent = words.disconnected;
      if (event.code === 4401) { location.href = "/console/login"; return; }
      if (event.code !== 4403) window.setTimeout(connect, 3000);
    });
  }

  connect();
})();
