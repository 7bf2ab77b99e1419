// Pacta debtor simulator: pick an account, chat as its debtor, tap reply buttons.
// Plain JavaScript over the sandbox API; no framework, no build step.
(() => {
  "use strict";

  const POLL_MS = 500;
  const TYPING_MAX_MS = 20000;
  const KEY_STORAGE = "pacta.simulator.apiKey";
  const ACCOUNT_STORAGE = "pacta.simulator.account";
  const READ_STATUSES = new Set(["processing", "processed"]);

  const $ = (id) => document.getElementById(id);
  const state = {
    key: null,
    accounts: [],
    phone: null,
    signature: "",
    outboundCount: 0,
    awaiting: null, // {outboundCount, since} after the debtor writes
    pollTimer: null,
    generation: 0, // bumps when the account changes, so stale polls are dropped
  };

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- API -------------------------------------------------------------------------------------

  async function api(path, body) {
    const headers = { Authorization: `Bearer ${state.key}` };
    const options = { headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.method = "POST";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new ApiError(0, "No hay conexión con el servidor.");
    }
    if (response.ok) return response.json();
    throw new ApiError(response.status, await errorText(response));
  }

  async function errorText(response) {
    if (response.status === 401) return "La clave de API no es válida.";
    if (response.status === 403) return "Esta clave no tiene permiso para el sandbox.";
    if (response.status === 404) return "No encontramos esa cuenta o ese teléfono.";
    if (response.status === 413) return "El mensaje es demasiado largo.";
    try {
      const data = await response.json();
      if (typeof data.detail === "string") return `Error ${response.status}: ${data.detail}`;
    } catch (err) {
      // not JSON: fall through
    }
    return `Error ${response.status} del servidor.`;
  }

  // --- key -------------------------------------------------------------------------------------

  function pageKey() {
    const meta = document.querySelector('meta[name="pacta-dev-key"]');
    return meta ? meta.content : null;
  }

  function askForKey(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    stopPolling();
    const select = $("account");
    select.replaceChildren(new Option("Primero escribe la clave de API", ""));
    select.disabled = true;
    setComposerEnabled(false);
    $("chat").replaceChildren();
    state.signature = "";
    $("key-panel").hidden = false;
    setStatus(message || "");
    $("key-input").focus();
  }

  function onKeySubmit(event) {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    state.key = key;
    $("key-input").value = "";
    $("key-panel").hidden = true;
    loadAccounts();
  }

  function handleError(err) {
    if (err.status === 401) {
      askForKey(err.message);
      return;
    }
    setStatus(err.message || "Algo salió mal.");
  }

  // --- accounts --------------------------------------------------------------------------------

  async function loadAccounts() {
    setStatus("");
    try {
      state.accounts = await api("/v1/sandbox/accounts");
    } catch (err) {
      handleError(err);
      return;
    }
    renderAccounts();
  }

  const CURRENCY_LOCALES = {
    MXN: "es-MX", COP: "es-CO", PEN: "es-PE", CLP: "es-CL", ARS: "es-AR", USD: "es-US", EUR: "es-ES",
  };

  function money(amount, currency) {
    const locale = CURRENCY_LOCALES[currency] || "es";
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(amount));
    } catch (err) {
      return `${amount} ${currency}`;
    }
  }

  function renderAccounts() {
    const select = $("account");
    select.replaceChildren(new Option("Elige una cuenta…", ""));
    for (const a of state.accounts) {
      const label = `${a.reference} · ${a.first_name} · ${a.phone_masked}`;
      select.append(new Option(label, a.reference));
    }
    select.disabled = state.accounts.length === 0;
    if (state.accounts.length === 0) {
      setStatus("No hay cuentas. Ejecuta «pacta db seed» o «pacta import».");
      return;
    }
    const wanted = new URLSearchParams(location.search).get("account")
      || sessionStorage.getItem(ACCOUNT_STORAGE);
    if (wanted && state.accounts.some((a) => a.reference === wanted)) {
      select.value = wanted;
      selectAccount(wanted);
    }
  }

  function selectAccount(reference) {
    const account = state.accounts.find((a) => a.reference === reference);
    state.generation += 1;
    state.signature = "";
    state.outboundCount = 0;
    state.awaiting = null;
    $("chat").replaceChildren();
    showTyping(false);
    setComposerEnabled(Boolean(account));
    if (!account) {
      state.phone = null;
      $("account-info").textContent = "";
      $("subtitle").textContent = "Simulador · modo sandbox, no se envía nada";
      sessionStorage.removeItem(ACCOUNT_STORAGE);
      stopPolling();
      return;
    }
    sessionStorage.setItem(ACCOUNT_STORAGE, reference);
    state.phone = account.phone;
    $("account-info").textContent =
      `${account.creditor} · saldo ${money(account.balance, account.currency)}`;
    $("subtitle").textContent = `Hablas como ${account.first_name} (${account.phone_masked})`;
    startPolling();
    $("message").focus();
  }

  // --- messages --------------------------------------------------------------------------------

  function startPolling() {
    stopPolling();
    poll();
  }

  function stopPolling() {
    if (state.pollTimer !== null) clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  async function poll() {
    const generation = state.generation;
    try {
      const messages = await api(`/v1/sandbox/messages?phone=${encodeURIComponent(state.phone)}`);
      if (generation !== state.generation) return;
      renderMessages(messages);
    } catch (err) {
      if (generation !== state.generation) return;
      handleError(err);
      if (err.status === 401) return;
    }
    if (generation === state.generation && state.key) {
      state.pollTimer = setTimeout(poll, POLL_MS);
    }
  }

  function signatureOf(messages) {
    return messages.map((m) => `${m.id}:${m.status}`).join("|");
  }

  function renderMessages(messages) {
    const outbound = messages.filter((m) => m.direction === "outbound").length;
    updateTyping(outbound);
    const signature = signatureOf(messages);
    if (signature === state.signature) return;
    state.signature = signature;
    state.outboundCount = outbound;
    const chat = $("chat");
    const nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    chat.replaceChildren(...messages.map(renderMessage));
    if (nearBottom || state.awaiting) chat.scrollTop = chat.scrollHeight;
  }

  function renderMessage(message) {
    const mine = message.direction === "inbound"; // the debtor's own messages
    const item = document.createElement("li");
    item.className = `msg ${mine ? "mine" : "theirs"}`;
    item.dataset.direction = message.direction;
    if (message.action) item.dataset.action = message.action;

    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = mine ? "Tú: " : "Pacta: ";
    const body = document.createElement("p");
    body.className = "body";
    body.append(who, ...formatted(message.body));
    item.append(body, renderMeta(message, mine));
    if (!mine && message.buttons.length) item.append(renderButtons(message.buttons));
    return item;
  }

  // WhatsApp's *bold* markup, as text nodes and <strong> elements (never as HTML).
  function formatted(text) {
    const nodes = [];
    let last = 0;
    for (const match of text.matchAll(/\*([^*\n]+)\*/g)) {
      nodes.push(text.slice(last, match.index));
      const strong = document.createElement("strong");
      strong.textContent = match[1];
      nodes.push(strong);
      last = match.index + match[0].length;
    }
    nodes.push(text.slice(last));
    return nodes;
  }

  function renderMeta(message, mine) {
    const meta = document.createElement("span");
    meta.className = "meta";
    const when = new Date(message.created_at);
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = when.toLocaleTimeString("es-MX", { hour: "2-digit", minute: "2-digit" });
    meta.append(time);
    const read = READ_STATUSES.has(message.status);
    if (mine) {
      // Like WhatsApp on the debtor's side: grey ticks when received, blue once Pacta read it.
      const ticks = document.createElement("span");
      ticks.className = `ticks${read ? " read" : ""}`;
      ticks.setAttribute("aria-hidden", "true");
      ticks.title = read ? "Leído" : "Entregado";
      ticks.textContent = " ✓✓";
      const said = document.createElement("span");
      said.className = "visually-hidden";
      said.textContent = read ? ", leído" : ", entregado";
      meta.append(ticks, said);
    }
    return meta;
  }

  function renderButtons(buttons) {
    const group = document.createElement("div");
    group.className = "buttons";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Respuestas rápidas");
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "reply-button";
      button.dataset.buttonId = b.id;
      button.textContent = b.title;
      button.addEventListener("click", () => pressButton(b, group));
      group.append(button);
    }
    return group;
  }

  // --- sending ---------------------------------------------------------------------------------

  async function send(payload) {
    const generation = state.generation;
    setStatus("");
    try {
      await api("/v1/sandbox/inbound", { phone: state.phone, ...payload });
    } catch (err) {
      handleError(err);
      return false;
    }
    if (generation !== state.generation) return true;
    state.awaiting = { outboundCount: state.outboundCount, since: Date.now() };
    showTyping(true);
    startPolling(); // show our own message right away
    return true;
  }

  async function onComposerSubmit(event) {
    event.preventDefault();
    const input = $("message");
    const text = input.value.trim();
    if (!text || !state.phone) return;
    setComposerEnabled(false);
    const sent = await send({ text });
    setComposerEnabled(Boolean(state.phone));
    if (sent) input.value = "";
    input.focus();
  }

  async function pressButton(button, group) {
    for (const b of group.querySelectorAll("button")) b.disabled = true;
    const sent = await send({ button_id: button.id });
    if (!sent) for (const b of group.querySelectorAll("button")) b.disabled = false;
  }

  function onComposerKeydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  }

  // --- small views -----------------------------------------------------------------------------

  function updateTyping(outboundCount) {
    const waiting = state.awaiting;
    if (!waiting) return;
    const answered = outboundCount > waiting.outboundCount;
    if (answered || Date.now() - waiting.since > TYPING_MAX_MS) {
      state.awaiting = null;
      showTyping(false);
    }
  }

  function showTyping(visible) {
    $("typing").hidden = !visible;
  }

  function setComposerEnabled(enabled) {
    $("message").disabled = !enabled;
    $("send").disabled = !enabled;
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  // --- start -----------------------------------------------------------------------------------

  function start() {
    $("key-form").addEventListener("submit", onKeySubmit);
    $("account").addEventListener("change", (e) => selectAccount(e.target.value));
    $("composer").addEventListener("submit", onComposerSubmit);
    $("message").addEventListener("keydown", onComposerKeydown);
    state.key = pageKey() || sessionStorage.getItem(KEY_STORAGE);
    if (!state.key) {
      askForKey("");
      return;
    }
    loadAccounts();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
