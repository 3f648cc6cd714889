// "Manage rooms" for admins: create a room, edit a room's name and guidelines.

import { api } from "./api.js";
import { h, formError, notify, explainError } from "./ui.js";
import { kindLabel } from "./room.js";
import { renderBadgesCard, renderDisclosureEditor } from "./disclosure.js";

function field(label, input, help) {
  const id = input.id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, help ? h("p", { class: "help" }, help) : null);
}

function slugify(s) {
  return s.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
}

/** Render the admin page into container. onChanged() reloads the room list. */
export function renderAdmin(container, { rooms, onChanged }) {
  const slug = h("input", { id: "new-room-slug", name: "slug", type: "text", required: true, pattern: "[a-z0-9][a-z0-9\\-]*", autocomplete: "off", spellcheck: "false" });
  const name = h("input", { id: "new-room-name", name: "name", type: "text", required: true, autocomplete: "off" });
  const condition = h("input", { id: "new-room-condition", name: "condition", type: "text", required: true, autocomplete: "off", placeholder: "e.g. Type 1 Diabetes" });
  const kind = h("select", { id: "new-room-kind", name: "kind" },
    ["chat", "support", "webinar"].map((k) => h("option", { value: k }, kindLabel(k))));
  const visibility = h("select", { id: "new-room-visibility", name: "visibility" },
    h("option", { value: "public" }, "Public — any member can join"),
    h("option", { value: "private" }, "Private — invited members only"));
  const guidelines = h("textarea", { id: "new-room-guidelines", name: "guidelines", rows: "6", required: true });
  let slugTouched = false;
  slug.addEventListener("input", () => { slugTouched = true; });
  name.addEventListener("input", () => { if (!slugTouched) slug.value = slugify(name.value); });

  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create room");
  const create = h("form", { id: "create-room-form", class: "form", novalidate: true },
    h("div", { class: "grid-2" },
      field("Name", name),
      field("Address (slug)", slug, "Lower-case letters, digits and dashes; used in links."),
      field("Condition", condition),
      field("Kind", kind)),
    field("Visibility", visibility),
    field("Guidelines", guidelines, "Members read and accept these before joining. Changing them later asks everyone to accept again."),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    submit);

  create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError(create, "");
    const body = {
      slug: slug.value.trim(), name: name.value.trim(), condition: condition.value.trim(),
      kind: kind.value, visibility: visibility.value, guidelines: guidelines.value.trim(),
    };
    const missing = Object.entries({ Name: body.name, "Address (slug)": body.slug, Condition: body.condition, Guidelines: body.guidelines }).filter(([, v]) => !v).map(([k]) => k);
    if (missing.length) { formError(create, `Please fill in: ${missing.join(", ")}.`); return; }
    if (!/^[a-z0-9][a-z0-9-]*$/.test(body.slug)) { formError(create, "The address may only use lower-case letters, digits and dashes."); return; }
    submit.disabled = true;
    try {
      const res = await api.createRoom(body);
      notify(`Room “${res?.room?.name || body.name}” created.`);
      create.reset();
      slugTouched = false;
      await onChanged();
    } catch (err) {
      formError(create, err.code === "conflict"
        ? `A room with the address “${body.slug}” already exists. Please choose another address.`
        : explainError(err));
    } finally {
      submit.disabled = false;
    }
  });

  const list = h("div", { id: "admin-rooms" });
  for (const r of rooms) list.append(renderEditor(r, onChanged));
  if (!rooms.length) list.append(h("p", { class: "muted" }, "No rooms yet."));

  container.replaceChildren(h("div", { class: "admin-inner" },
    h("h1", {}, "Manage rooms"),
    h("section", { class: "card", "aria-labelledby": "create-room-title" }, h("h2", { id: "create-room-title" }, "Create a room"), create),
    h("section", { class: "card", "aria-labelledby": "edit-rooms-title" }, h("h2", { id: "edit-rooms-title" }, "Edit rooms"), list),
    renderBadgesCard()));
  document.title = "Manage rooms — Haven";
}

function versionHelp(r) {
  return `Version ${r.guidelines_version ?? "—"}. Saving new guidelines asks members to accept them again.`;
}

function renderEditor(r, onChanged) {
  const id = (s) => `edit-${r.slug}-${s}`;
  const name = h("input", { id: id("name"), name: "name", type: "text", value: r.name || "", required: true });
  const guidelines = h("textarea", { id: id("guidelines"), name: "guidelines", rows: "6" });
  guidelines.value = r.guidelines || "";
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save changes");
  const summaryName = h("span", { class: "admin-room-name" }, r.name || r.slug);
  const ok = h("p", { class: "form-ok", role: "status", hidden: true });
  const form = h("form", { class: "form", dataset: { slug: r.slug }, novalidate: true },
    field("Name", name),
    field("Guidelines", guidelines, versionHelp(r)),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    ok, save);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formError(form, "");
    ok.hidden = true;
    const body = {};
    if (name.value.trim() !== (r.name || "")) body.name = name.value.trim();
    if (guidelines.value.trim() !== (r.guidelines || "").trim()) body.guidelines = guidelines.value.trim();
    if (!Object.keys(body).length) { ok.textContent = "Nothing to save."; ok.hidden = false; return; }
    if (body.name === "") { formError(form, "The name cannot be empty."); return; }
    save.disabled = true;
    try {
      const res = await api.updateRoom(r.slug, body);
      Object.assign(r, res?.room || body);
      form.querySelector(`#${CSS.escape(id("guidelines"))} + .help`).textContent = versionHelp(r);
      summaryName.textContent = r.name || r.slug;
      ok.textContent = "Saved.";
      ok.hidden = false;
      await onChanged({ keepAdmin: true });
    } catch (err) {
      formError(form, explainError(err));
    } finally {
      save.disabled = false;
    }
  });
  return h("details", { class: "admin-room", dataset: { slug: r.slug } },
    h("summary", {}, summaryName, " ", h("span", { class: "muted" }, `· ${r.slug} · ${kindLabel(r.kind)} · ${r.visibility || ""}`)),
    form, renderDisclosureEditor(r));
}
