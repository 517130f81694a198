// The message form: a new message, or a new version of a saved one (#/messages/<id>/edit).
// Each problem is shown on its field (aria-invalid, described by its message) and the focus
// moves to the first, as the import wizard does; the server's template problems (an unknown
// placeholder, an unclosed "{{") land on the subject or body too. Going live asks first, with
// the number of people it reaches now (sending.js).

import { api } from "./api.js";
import { append, clear, errorBox, field, h, notice, select, uid } from "./dom.js";
import { describe, ruleBuilder, rowsFrom } from "./rules.js";
import { channelStates, confirmGoLive, previewPanel, sentence, testSendPanel } from "./sending.js";

const TYPES = [
  ["auto", "Auto", "Sent to everyone who matches now and to anyone who matches later — once each."],
  ["manual", "Manual", "Sent once, to everyone who matches when it goes live."],
];
const CHANNELS = [
  ["in_app", "In-app (the person's inbox)"],
  ["email", "Email"],
  ["webhook", "Webhook (POST to a URL)"],
];
const PLACEHOLDERS =
  'Placeholders: {{name}}, {{first_name}}, {{email}} and {{custom.<attribute>}}. For people without a value, add a fallback: {{first_name | fallback: "there"}}.';

/** JSON with sorted keys: two filters compare equal whatever order the database gave. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A control with its error line: `set(text)` shows (or, with "", clears) the problem. */
function withError(control) {
  const error = h("p", { class: "field-error", id: uid("error"), "aria-live": "polite" });
  const described = control.getAttribute("aria-describedby");
  control.setAttribute("aria-describedby", [described, error.id].filter(Boolean).join(" "));
  return {
    error,
    set(text) {
      error.textContent = text;
      if (text) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    },
  };
}

export async function messageForm(ctx) {
  const [id] = ctx.params;
  const editing = id ? await api("GET", `/api/messages/${encodeURIComponent(id)}`) : null;
  const initialRows = editing ? rowsFrom(editing.audience) : null;
  const fixedAudience = editing && !initialRows; // written through the API: kept as it is

  const name = h("input", { type: "text", maxlength: "200", autocomplete: "off", value: editing?.name || "" });
  const channel = select(CHANNELS, editing?.channel || "in_app");
  const subject = h("input", { type: "text", maxlength: "998", autocomplete: "off", value: editing?.subject || "" });
  const body = h("textarea", { rows: "6" });
  body.value = editing?.body || "";
  const webhook = h("input", { type: "url", placeholder: "https://example.com/hooks/usher", autocomplete: "off", value: editing?.webhook_url || "" });
  const nameField = field("Name", name, { required: true, hint: "For your team; people do not see it." });
  const channelHint = editing ? "The channel of a saved message is fixed: duplicate it to send on another." : null;
  const channelField = field("Channel", channel, { hint: channelHint });
  const channelNote = h("p", { class: "field-error warning", id: uid("channel-note"), "aria-live": "polite" });
  channel.setAttribute("aria-describedby", [channel.getAttribute("aria-describedby"), channelNote.id].filter(Boolean).join(" "));
  const webhookField = field("Webhook URL", webhook, { hint: "Usher POSTs JSON signed with HMAC-SHA256, and retries with back-off." });
  const subjectField = field("Subject", subject);
  const bodyField = field("Body", body, { hint: PLACEHOLDERS });
  const errors = { name: withError(name), webhook_url: withError(webhook), subject: withError(subject), body: withError(body) };
  nameField.wrap.append(errors.name.error);
  webhookField.wrap.append(errors.webhook_url.error);
  subjectField.wrap.append(errors.subject.error);
  bodyField.wrap.append(errors.body.error);
  const controls = { name, webhook_url: webhook, subject, body };
  if (editing) channel.disabled = true;

  let states = null;
  const drawChannel = () => {
    webhookField.wrap.hidden = channel.value !== "webhook";
    webhook.required = channel.value === "webhook";
    const email = states?.email;
    const emailOption = [...channel.options].find((o) => o.value === "email");
    if (email && !email.available) {
      emailOption.textContent = "Email — the mail server cannot be reached";
      if (!editing) emailOption.disabled = true;
      channelNote.textContent = `Email cannot be chosen now: ${sentence(email.problem)} Set USHER_SMTP_HOST and USHER_SMTP_PORT to a mail server that answers.`;
    } else {
      emailOption.textContent = "Email";
      emailOption.disabled = false;
      channelNote.textContent = "";
    }
    if (editing && channel.value !== "email") channelNote.textContent = "";
    tests?.redraw();
  };
  channel.addEventListener("change", drawChannel);
  channelField.wrap.append(channelNote);

  let type = editing?.type || "auto";
  const typeChoices = TYPES.map(([value, text, hint]) => {
    const choiceId = uid("type");
    return h(
      "div",
      { class: "choice" },
      h("input", {
        type: "radio",
        name: "message-type",
        id: choiceId,
        value,
        checked: value === type,
        disabled: Boolean(editing),
        "aria-describedby": `${choiceId}-hint`,
        onchange: () => (type = value),
      }),
      h("label", { for: choiceId }, text),
      h("p", { class: "hint", id: `${choiceId}-hint` }, hint),
    );
  });
  const result = h("div", { "aria-live": "polite" });
  const everyoneId = uid("everyone");
  const everyone = h("input", { type: "checkbox", id: everyoneId, checked: Boolean(initialRows && !initialRows.length), onchange: () => clear(result) });
  const everyoneField = h("div", { class: "switch-field" }, everyone, h("label", { for: everyoneId }, "Send to everyone in the workspace when there are no rules"));
  // Only a message without rules is for everyone: the choice is offered then, and only then.
  const audience = fixedAudience ? null : ruleBuilder({ initial: initialRows, onRows: (n) => (everyoneField.hidden = n > 0) });
  const audienceElement = fixedAudience
    ? h("fieldset", { class: "audience" }, h("legend", {}, "Audience"), h("p", {}, describe(editing.audience)), h("p", { class: "hint" }, "This audience was written through the API and cannot be edited here; it stays as it is."))
    : audience.element;
  if (fixedAudience) everyoneField.hidden = true;

  const texts = () => ({ subject: subject.value, body: body.value });
  const showProblems = (details) => {
    for (const key of ["subject", "body"]) errors[key].set(details.filter((d) => d.field === key).map((d) => sentence(d.message)).join(" "));
  };
  const preview = previewPanel({ texts, onProblems: showProblems });
  for (const control of [subject, body]) control.addEventListener("input", () => preview.refresh());
  const tests = testSendPanel({
    draft: () => ({ channel: channel.value, subject: subject.value, body: body.value, webhook_url: webhook.value.trim(), message_id: editing?.id }),
    contactId: preview.contactId,
    states: () => states,
  });
  channelStates()
    .then((found) => {
      states = found;
      drawChannel();
    })
    .catch(() => {});
  drawChannel();

  /** What the form says, checked here first: {problems by field, summary problems, body}. */
  const collect = () => {
    const fieldProblems = {};
    const summary = [];
    if (!name.value.trim()) fieldProblems.name = "Give the message a name.";
    if (channel.value === "webhook" && !/^https?:\/\//.test(webhook.value.trim())) fieldProblems.webhook_url = "A webhook message needs an http(s) URL.";
    const compiled = audience ? audience.compile() : { filter: editing.audience };
    if (compiled.problems) summary.push(...compiled.problems);
    const toEveryone = Boolean(audience) && !compiled.problems && compiled.filter.and?.length === 0;
    if (toEveryone && !everyone.checked) summary.push("Add a rule for who gets it, or tick “Send to everyone in the workspace”.");
    return { fieldProblems, summary, filter: compiled.filter, toEveryone };
  };

  const showErrors = (fieldProblems, summary) => {
    for (const [key, handle] of Object.entries(errors)) handle.set(fieldProblems[key] || "");
    clear(result);
    if (summary.length) result.append(errorBox({ message: "The message is not complete.", details: summary }));
    const first = Object.keys(controls).find((key) => fieldProblems[key]);
    if (first) controls[first].focus();
    else if (summary.length) (audience?.element.querySelector("input:not([type=checkbox]), select") || everyone).focus();
  };

  /** The API's refusal on the fields it names; true when it named any. */
  const showApiError = (error) => {
    const details = Array.isArray(error.details) ? error.details.filter((d) => d && d.field) : [];
    const byField = {};
    for (const d of details) {
      const key = d.field === "webhook_url" || d.field in errors ? d.field : null;
      if (key) byField[key] = [byField[key], sentence(d.message)].filter(Boolean).join(" ");
    }
    if (!Object.keys(byField).length && /^webhook_url: /.test(error.message || "")) byField.webhook_url = sentence(error.message.replace(/^webhook_url: /, ""));
    if (!Object.keys(byField).length) return false;
    showErrors(byField, []);
    result.append(errorBox({ message: "The message was not saved: fix what is marked above." }));
    return true;
  };

  const payload = (checked) => ({
    name: name.value.trim(),
    subject: subject.value || null,
    body: body.value,
    webhook_url: channel.value === "webhook" ? webhook.value.trim() : null,
    audience: checked.filter,
    confirm_everyone: checked.toEveryone,
  });

  const open = (message) => ctx.navigate(`/messages/${encodeURIComponent(message.id)}${editing ? "?saved=1" : ""}`);

  const create = async (state, button) => {
    const checked = collect();
    if (Object.keys(checked.fieldProblems).length || checked.summary.length) {
      showErrors(checked.fieldProblems, checked.summary);
      return;
    }
    showErrors({}, []);
    const send = () => api("POST", "/api/messages", { ...payload(checked), type, channel: channel.value, state });
    button.disabled = true;
    try {
      if (state !== "live") {
        open(await send());
        return;
      }
      // The placeholders first (a refusal belongs on its field, not in the dialog).
      await api("POST", "/api/messages/preview", { subject: subject.value || null, body: body.value });
      const created = await confirmGoLive({
        message: { name: name.value.trim(), type, channel: channel.value },
        audience: checked.filter,
        run: send,
        parent: ctx.main,
        opener: button,
        report: result,
      });
      if (created) open(created);
    } catch (error) {
      if (!showApiError(error)) result.append(errorBox(error, "The message was not saved"));
    } finally {
      button.disabled = false;
    }
  };

  const save = async (button) => {
    const checked = collect();
    if (Object.keys(checked.fieldProblems).length || checked.summary.length) {
      showErrors(checked.fieldProblems, checked.summary);
      return;
    }
    showErrors({}, []);
    const all = payload(checked);
    const changes = {};
    for (const key of ["name", "subject", "body", "webhook_url"]) {
      if (key === "webhook_url" && editing.channel !== "webhook") continue;
      if ((all[key] ?? null) !== (editing[key] ?? (key === "body" ? "" : null))) changes[key] = all[key];
    }
    const audienceChanged = audience && canonical(all.audience) !== canonical(editing.audience);
    if (audienceChanged) {
      changes.audience = all.audience;
      changes.confirm_everyone = all.confirm_everyone;
    }
    if (!Object.keys(changes).length) {
      clear(result).append(notice("Nothing changed: there is nothing to save."));
      return;
    }
    const send = () => api("PATCH", `/api/messages/${encodeURIComponent(editing.id)}`, changes);
    button.disabled = true;
    try {
      // A live auto message with new rules goes to whoever matches them now: ask first.
      if (audienceChanged && editing.state === "live" && editing.type === "auto") {
        await api("POST", "/api/messages/preview", { subject: subject.value || null, body: body.value });
        const saved = await confirmGoLive({ message: editing, audience: all.audience, run: send, parent: ctx.main, opener: button, report: result });
        if (saved) open(saved);
      } else {
        open(await send());
      }
    } catch (error) {
      if (!showApiError(error)) result.append(errorBox(error, "The changes were not saved"));
    } finally {
      button.disabled = false;
    }
  };

  const primary = editing
    ? h("button", { type: "submit" }, "Save changes")
    : h("button", { type: "submit" }, "Save and go live");
  const secondary = editing
    ? h("a", { class: "button secondary", href: `#/messages/${encodeURIComponent(editing.id)}` }, "Cancel")
    : h("button", { type: "button", class: "secondary", onclick: () => create("paused", secondary) }, "Save as draft");
  const heading = editing ? `Edit “${editing.name}”` : "New message";
  const versionNote = editing
    ? notice(
        editing.deliveries.total
          ? `Saving a change of the subject, body or audience makes version ${editing.version + 1}. The ${editing.deliveries.total.toLocaleString()} deliveries made so far stay with the version they were sent with; deliveries still waiting go out with the new text.`
          : `Saving a change of the subject, body or audience makes version ${editing.version + 1}.`,
      )
    : null;

  append(ctx.main, [
    h("p", { class: "crumbs" }, h("a", { href: "#/messages" }, "Messages"), editing ? [" / ", h("a", { href: `#/messages/${encodeURIComponent(editing.id)}` }, editing.name)] : null),
    h("h1", {}, heading),
    versionNote,
    h(
      "div",
      { class: "message-editor" },
      h(
        "form",
        {
          class: "card",
          novalidate: true,
          onsubmit: (event) => {
            event.preventDefault();
            if (editing) save(primary);
            else create("live", primary);
          },
        },
        nameField.wrap,
        h("fieldset", {}, h("legend", {}, "Type"), typeChoices),
        channelField.wrap,
        webhookField.wrap,
        subjectField.wrap,
        bodyField.wrap,
        audienceElement,
        everyoneField,
        result,
        h("div", { class: "actions" }, secondary, primary),
      ),
      h("div", { class: "message-side" }, preview.element, tests.element),
    ),
  ]);
}
