// The wizard's "Tag and confirm" step: the tag (one, without a comma), the live messages the
// import may trigger, what to do with invalid optional values, the file's options (blank cells,
// dates; the default country is beside the phone column, in mapping.js), what will be imported
// and what will not; then, for a file, "Preview changes" (a dry run: Enter in a field does
// this, as it changes nothing) or "Start import without preview"; for a remote source, "Start
// import". Starting an import takes a click on its button: Enter in a field never starts one.

import { api, isUnavailable, unavailable } from "./api.js";
import { notImported, targetOf, typeName } from "./attributes.js";
import { countryName } from "./countries.js";
import { clear, errorBox, field, h, radios, select } from "./dom.js";
import { startColumns } from "./mapping.js";
import { mappingLabels } from "./meta.js";
import { channelName } from "./messages.js";
import { REMOTE_NAMES } from "./remote.js";

const INVALID = [
  ["fail_record", "Skip the whole row", "Nothing from that row is imported; it is listed in the error report."],
  [
    "skip_value",
    "Import the person without that value",
    "Their email, user ID and every valid value are imported; each value left out is listed as a warning.",
  ],
];

/**
 * The step in `container` for `draft`. `file`: a file is imported (else a remote source);
 * `jsonFile`: a Mixpanel export (no columns). `back()` goes to the step before; `preview()` and
 * `start()` run the dry run or the import (they reject with the API's error, shown here).
 */
export function optionsStep(draft, { container, file, jsonFile, back, preview, start }) {
  const tag = h("input", { type: "text", id: "import-tag", value: draft.tag, maxlength: "255" });
  const tagError = h("p", { class: "field-error", id: "import-tag-error", "aria-live": "polite" });
  // In a Tags column commas separate tags: an import's one tag cannot hold one (the server
  // refuses it too), or it would be a tag that no Tags column could give anyone.
  const checkTag = () => {
    const comma = draft.tag.includes(",");
    const first = draft.tag.split(",")[0].trim();
    tagError.textContent = comma
      ? `A tag cannot contain a comma: commas separate tags in a Tags column. Choose one tag${first ? `, e.g. “${first}”` : ""}.`
      : "";
    if (comma) tag.setAttribute("aria-invalid", "true");
    else tag.removeAttribute("aria-invalid");
    return comma;
  };
  tag.addEventListener("input", () => {
    draft.tag = tag.value;
    checkTag();
  });
  checkTag();
  const trigger = h("input", { type: "checkbox", role: "switch", id: "trigger-messages", checked: draft.trigger });
  const liveList = h("div", { class: "live-messages", "aria-live": "polite" }, h("p", { class: "hint" }, "Loading live messages…"));
  trigger.addEventListener("change", () => {
    draft.trigger = trigger.checked;
    liveList.classList.toggle("muted", !trigger.checked);
  });
  api("GET", "/api/messages?limit=200")
    .then((page) => {
      clear(liveList);
      const live = page.data.filter((m) => m.state === "live" && m.type === "auto");
      if (!live.length) {
        liveList.append(h("p", { class: "hint" }, "No auto message is live, so this import sends nothing either way."));
        return;
      }
      liveList.append(
        h("p", { class: "hint" }, "With the switch on, these live messages go to every imported person who matches their audience:"),
        h(
          "ul",
          {},
          live.map((m) =>
            h(
              "li",
              {},
              h("a", { href: `#/messages/${encodeURIComponent(m.id)}` }, m.name),
              ` (${channelName(m.channel)})`,
              draft.suppress.includes(m.id) ? h("strong", {}, " — suppressed for this import") : null,
            ),
          ),
        ),
        file ? h("p", { class: "hint" }, "Preview changes counts how many people each would reach, and lets you suppress any of them.") : null,
      );
    })
    .catch((error) => {
      clear(liveList);
      liveList.append(errorBox(error, "The live messages could not be listed"));
    });

  const blank = select([["clear", "Clear the field (blank means unknown)"], ["ignore", "Keep the current value"]], draft.blank);
  blank.addEventListener("change", () => (draft.blank = blank.value));
  const dateOrder = select([["DMY", "Day first: DD/MM/YYYY"], ["MDY", "Month first: MM/DD/YYYY"]], draft.dateOrder);
  dateOrder.addEventListener("change", () => (draft.dateOrder = dateOrder.value));

  const result = h("div", { "aria-live": "polite" });
  // For a file, Enter (the form's submit) previews: it changes nothing. Importing takes a click:
  // a remote source's Start is no submit button, and its form's submit does nothing.
  const confirm = file
    ? h("button", { type: "submit" }, "Preview changes")
    : h("button", { type: "button", onclick: () => submit(false) }, "Start import");
  const direct = file ? h("button", { type: "button", class: "secondary", onclick: () => submit(false) }, "Start import without preview") : null;
  const invalid = file
    ? h(
        "fieldset",
        { class: "invalid-values", "aria-describedby": "invalid-values-hint" },
        h("legend", {}, "If a phone number, date or IP address is not valid"),
        h(
          "p",
          { class: "hint", id: "invalid-values-hint" },
          "The same goes for a custom attribute value that does not fit its type. A row with an invalid email or user ID is always skipped.",
        ),
        radios("invalid-values", INVALID, draft.invalid, (value) => (draft.invalid = value)),
      )
    : null;
  const submit = async (toPreview) => {
    clear(result);
    if (checkTag()) {
      tag.focus();
      return;
    }
    confirm.disabled = true;
    if (direct) direct.disabled = true;
    try {
      await (toPreview ? preview() : start());
    } catch (error) {
      const intro = toPreview ? "The preview did not start" : "The import did not start";
      if (!file && isUnavailable(error)) {
        result.append(errorBox({ message: unavailable(`${REMOTE_NAMES[draft.method]} import is`) }, intro));
      } else {
        result.append(errorBox(error, intro));
      }
      result.querySelector("[role=alert]")?.scrollIntoView({ block: "nearest" });
      confirm.disabled = false;
      if (direct) direct.disabled = false;
    }
  };
  const columns = file && !jsonFile;
  const { mapping, custom_attributes: custom } = columns ? startColumns(draft) : { mapping: {}, custom_attributes: {} };
  const left = columns ? notImported(draft) : [];
  const attributeLine = (column, name) => {
    const target = targetOf(draft, draft.attributes[column]);
    return h("li", {}, `Custom attribute “${name}” ← ${column} (${target.created ? "new" : "existing"}, ${typeName(target.type).toLowerCase()})`);
  };
  const phoneLine = () =>
    mapping.phone
      ? ` (without a country code: ${draft.country ? `${countryName(draft.country)} numbers` : "not valid, as no default country is chosen"})`
      : "";
  const summary = h(
    "dl",
    { class: "summary" },
    h("dt", {}, "Source"),
    h("dd", {}, file ? draft.upload.file_name || "uploaded file" : REMOTE_NAMES[draft.method]),
    h("dt", {}, "Import as"),
    h("dd", {}, draft.kind === "users" ? "Users" : "Leads"),
    file && jsonFile ? [h("dt", {}, "Columns"), h("dd", {}, "Mapped automatically from the Mixpanel properties")] : null,
    file && !jsonFile
      ? [
          h("dt", {}, "Columns"),
          h(
            "dd",
            {},
            h(
              "ul",
              {},
              Object.entries(mappingLabels())
                .filter(([key]) => mapping[key])
                .map(([key, text]) => h("li", {}, `${text} ← ${mapping[key]}${key === "phone" ? phoneLine() : ""}`)),
              Object.entries(custom).map(([column, name]) => attributeLine(column, name)),
            ),
          ),
          h("dt", {}, "Not imported"),
          h("dd", { "data-testid": "not-imported" }, left.length ? left.join(", ") : "Nothing: every column is imported."),
        ]
      : null,
  );

  container.append(
    h("h2", { tabindex: "-1" }, "Tag and confirm"),
    h(
      "form",
      {
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          if (file) submit(true);
        },
      },
      tagField(tag, tagError),
      h(
        "div",
        { class: "switch-field" },
        trigger,
        h("label", { for: "trigger-messages" }, "Trigger live messages"),
      ),
      liveList,
      invalid,
      file
        ? h(
            "details",
            {},
            h("summary", {}, "More options"),
            field("Blank cells", blank).wrap,
            field("Dates like 03/04/2015", dateOrder).wrap,
          )
        : null,
      summary,
      result,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: back }, "Back"),
        direct,
        confirm,
      ),
    ),
  );
}

/** The tag's field: its hint says what one tag is, and why a comma is refused. */
function tagField(tag, error) {
  const { wrap } = field("Tag", tag, {
    hint: "One tag for everyone imported from this file, e.g. New Sign-Ups 2015. It cannot contain a comma: in a Tags column, commas separate tags.",
  });
  tag.setAttribute("aria-describedby", `${tag.getAttribute("aria-describedby")} ${error.id}`);
  wrap.append(error);
  return wrap;
}
