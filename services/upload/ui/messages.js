// Messages: the list (go live / pause), the create form with the audience rule builder, and one
// message's page with its deliveries.

import { api, query } from "./api.js";
import { clear, errorBox, field, fmtDate, fmtNumber, h, select, table, uid } from "./dom.js";
import { describe, ruleBuilder } from "./rules.js";

const TYPES = [
  ["auto", "Auto", "Sent to everyone who matches now and to anyone who matches later — once each."],
  ["manual", "Manual", "Sent once, to everyone who matches when it goes live."],
];
const CHANNELS = [
  ["in_app", "In-app (the person's inbox)"],
  ["email", "Email"],
  ["webhook", "Webhook (POST to a URL)"],
];

export function channelName(channel) {
  return { in_app: "in-app", email: "email", webhook: "webhook" }[channel] || channel;
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, state === "live" ? "Live" : "Paused");
}

/** A button that PATCHes the state; `done(updated)` redraws whatever shows the message. */
function stateButton(message, done, report) {
  const live = message.state === "live";
  const button = h(
    "button",
    {
      type: "button",
      class: live ? "secondary" : "",
      "aria-label": `${live ? "Pause" : "Go live with"} “${message.name}”`,
      onclick: async () => {
        button.disabled = true;
        clear(report);
        try {
          const updated = await api("PATCH", `/api/messages/${encodeURIComponent(message.id)}`, { state: live ? "paused" : "live" });
          done(updated);
        } catch (error) {
          report.append(errorBox(error, `“${message.name}” could not be ${live ? "paused" : "turned live"}`));
          button.disabled = false;
        }
      },
    },
    live ? "Pause" : "Go live",
  );
  return button;
}

export async function messageList(ctx) {
  const report = h("div", { "aria-live": "polite" });
  const slot = h("div");
  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Messages"), h("a", { class: "button", href: "#/messages/new" }, "New message")),
    report,
    slot,
  );
  const page = await api("GET", "/api/messages?limit=200");
  const messages = page.data;
  const draw = () => {
    clear(slot);
    if (!messages.length) {
      slot.append(h("p", {}, "No messages yet. ", h("a", { href: "#/messages/new" }, "Create one"), "."));
      return;
    }
    slot.append(
      table(
        ["Name", "Type", "Channel", "Audience", "State", "Created", "Action"],
        messages.map((m, i) => [
          h("a", { href: `#/messages/${encodeURIComponent(m.id)}` }, m.name),
          m.type === "auto" ? "Auto" : "Manual",
          channelName(m.channel),
          describe(m.audience),
          stateBadge(m.state),
          fmtDate(m.created_at),
          stateButton(
            m,
            (updated) => {
              messages[i] = updated;
              draw();
              slot.querySelectorAll("tbody tr")[i]?.querySelector("button")?.focus();
            },
            report,
          ),
        ]),
        { caption: "Messages, newest first" },
      ),
    );
  };
  draw();
}

export function messageForm(ctx) {
  const name = h("input", { type: "text", maxlength: "200", autocomplete: "off" });
  const channel = select(CHANNELS, "in_app");
  const subject = h("input", { type: "text", maxlength: "998", autocomplete: "off" });
  const body = h("textarea", { rows: "5" });
  const webhook = h("input", { type: "url", placeholder: "https://example.com/hooks/usher", autocomplete: "off" });
  const webhookField = field("Webhook URL", webhook, { hint: "Usher POSTs JSON signed with HMAC-SHA256, and retries with back-off." });
  const showWebhook = () => {
    webhookField.wrap.hidden = channel.value !== "webhook";
    webhook.required = channel.value === "webhook";
  };
  channel.addEventListener("change", showWebhook);
  showWebhook();
  let type = "auto";
  const typeChoices = TYPES.map(([value, text, hint]) => {
    const id = uid("type");
    return h(
      "div",
      { class: "choice" },
      h("input", { type: "radio", name: "message-type", id, value, checked: value === type, "aria-describedby": `${id}-hint`, onchange: () => (type = value) }),
      h("label", { for: id }, text),
      h("p", { class: "hint", id: `${id}-hint` }, hint),
    );
  });
  const result = h("div", { "aria-live": "polite" });
  const everyoneId = uid("everyone");
  const everyone = h("input", { type: "checkbox", id: everyoneId, onchange: () => clear(result) });
  const everyoneField = h(
    "div",
    { class: "switch-field" },
    everyone,
    h("label", { for: everyoneId }, "Send to everyone in the workspace when there are no rules"),
  );
  // Only a message without rules is for everyone: the choice is offered then, and only then.
  const audience = ruleBuilder({ onRows: (n) => (everyoneField.hidden = n > 0) });

  const submit = async (state, button) => {
    clear(result);
    const problems = [];
    if (!name.value.trim()) problems.push("Give the message a name.");
    if (channel.value === "webhook" && !/^https?:\/\//.test(webhook.value.trim())) problems.push("A webhook message needs an http(s) URL.");
    const compiled = audience.compile();
    if (compiled.problems) problems.push(...compiled.problems);
    const toEveryone = !compiled.problems && compiled.filter.and?.length === 0;
    if (toEveryone && !everyone.checked) {
      problems.push("Add a rule for who gets it, or tick “Send to everyone in the workspace”.");
    }
    if (problems.length) {
      result.append(errorBox({ message: "The message is not complete.", details: problems }));
      return;
    }
    button.disabled = true;
    try {
      const created = await api("POST", "/api/messages", {
        name: name.value.trim(),
        type,
        channel: channel.value,
        subject: subject.value || null,
        body: body.value,
        webhook_url: channel.value === "webhook" ? webhook.value.trim() : null,
        audience: compiled.filter,
        state,
        confirm_everyone: toEveryone,
      });
      ctx.navigate(`/messages/${encodeURIComponent(created.id)}`);
    } catch (error) {
      result.append(errorBox(error, "The message was not saved"));
      button.disabled = false;
    }
  };
  const live = h("button", { type: "submit" }, "Save and go live");
  const paused = h("button", { type: "button", class: "secondary", onclick: () => submit("paused", paused) }, "Save as paused");

  ctx.main.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/messages" }, "Messages")),
    h("h1", {}, "New message"),
    h(
      "form",
      {
        class: "card",
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          submit("live", live);
        },
      },
      field("Name", name, { required: true, hint: "For your team; people do not see it." }).wrap,
      h("fieldset", {}, h("legend", {}, "Type"), typeChoices),
      field("Channel", channel).wrap,
      webhookField.wrap,
      field("Subject", subject).wrap,
      field("Body", body, { hint: "You can use {{name}}, {{email}} and {{custom.<attribute>}}." }).wrap,
      audience.element,
      everyoneField,
      result,
      h("div", { class: "actions" }, paused, live),
    ),
  );
}

export async function messagePage(ctx) {
  const [id] = ctx.params;
  const path = `/api/messages/${encodeURIComponent(id)}`;
  let message = await api("GET", path);
  const head = h("div", { class: "page-head" });
  const report = h("div", { "aria-live": "polite" });
  const details = h("section", { class: "card" });
  const deliveries = h("div", { "aria-live": "polite" });
  ctx.main.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/messages" }, "Messages")),
    head,
    report,
    details,
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "page-head" },
        h("h2", {}, "Deliveries"),
        h("button", { type: "button", class: "secondary", onclick: () => loadDeliveries() }, "Refresh"),
      ),
      deliveries,
    ),
  );

  const drawHead = () => {
    clear(head).append(
      h("h1", {}, message.name),
      h(
        "div",
        { class: "head-actions" },
        stateBadge(message.state),
        stateButton(
          message,
          (updated) => {
            message = updated;
            drawHead();
            head.querySelector("button")?.focus();
            setTimeout(loadDeliveries, 800);
          },
          report,
        ),
      ),
    );
    clear(details).append(
      h(
        "dl",
        { class: "fields" },
        [
          ["Type", message.type === "auto" ? "Auto" : "Manual"],
          ["Channel", channelName(message.channel)],
          ["Subject", message.subject || "—"],
          ["Body", h("span", { class: "body" }, message.body || "—")],
          message.channel === "webhook" ? ["Webhook URL", message.webhook_url] : null,
          ["Audience", describe(message.audience)],
          ["First live", fmtDate(message.activated_at)],
          ["Created", fmtDate(message.created_at)],
        ]
          .filter(Boolean)
          .map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))),
      ),
    );
  };

  const loadDeliveries = async () => {
    try {
      const page = await api("GET", `${path}/deliveries${query({ limit: 200 })}`);
      clear(deliveries);
      if (!page.data.length) {
        deliveries.append(h("p", { class: "hint" }, message.state === "live" ? "No deliveries yet." : "No deliveries: the message is paused."));
        return;
      }
      deliveries.append(
        table(
          ["Person", "Status", "Reason", "Delivered", "Attempts"],
          page.data.map((d) => [
            h("a", { href: `#/people/${encodeURIComponent(d.contact_id)}` }, d.email || d.user_id || d.contact_id),
            h("span", { class: `badge delivery-${d.status}` }, d.status),
            d.reason || "—",
            fmtDate(d.delivered_at),
            fmtNumber(d.attempts),
          ]),
          { caption: `${page.data.length}${page.next_cursor ? "+" : ""} ${page.data.length === 1 ? "delivery" : "deliveries"}` },
        ),
      );
    } catch (error) {
      clear(deliveries).append(errorBox(error, "Deliveries could not be loaded"));
    }
  };

  drawHead();
  await loadDeliveries();
}
