// A support session: everyone speaks, so the stage is a grid with one tile per person —
// you first, then the others in the order they joined — each showing their camera (or
// their initial while it is off) and whether their microphone is on.

export function supportItems(s, remote) {
  const muted = new Set(s.mutedKinds());
  const items = [];
  const me = s.self();
  if (me || s.joined) {
    const notes = [];
    if (muted.size) notes.push("Muted by a moderator");
    else if (!s.on.has("audio")) notes.push("Microphone off");
    items.push({ key: `p:${s.participant}`, name: "You", track: s.local.video, user: s.me?.id, kind: "video", local: true,
      note: notes.join(" · "), warn: muted.size > 0 });
  }
  for (const p of s.state.participants) {
    if (p.id === s.participant) continue;
    const u = p.user || {};
    const publishing = new Set(p.publishing || []);
    const pm = new Set(p.muted || []);
    const vid = s.state.tracks.find((t) => t.participant === p.id && t.kind === "video");
    const track = vid && !vid.muted ? remote.get(vid.id) || null : null;
    let note = "";
    if (pm.has("audio")) note = "Muted by a host";
    else if (!publishing.has("audio")) note = "Microphone off";
    items.push({ key: `p:${p.id}`, name: u.display_name || "Someone", track, user: u.id, kind: "video",
      note, warn: pm.size > 0, participant: p.id });
  }
  return items;
}

export function supportCapacityText(err) {
  return err?.code === "session_full"
    ? "This support session is full. Support groups are kept small so everyone can be heard — please try again later, or ask a host about the next session."
    : "";
}
