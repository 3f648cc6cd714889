package protocol

// Safety screening (extension; docs/PROTOCOL.md "Safety screening").

// CodePersonalInfo refuses a post (or edit) that contains personal information in a room
// whose policy is warn. The error carries `findings` ([]PersonalFinding); resending with
// `confirm_personal_info: true` posts the text as written.
const CodePersonalInfo = "personal_info"

// PersonalFinding is one span of personal information, as the sender is shown it: Start and
// End are byte offsets into the text as sent.
type PersonalFinding struct {
	Category string `json:"category"`
	Label    string `json:"label"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
}

// ResourceLink is one support link: a hotline or a service's page.
type ResourceLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// SafetyResources is sent to the author of a post with crisis language, at once, on every
// connection they have in the room.
type SafetyResources struct {
	Type  string         `json:"type"` // "safety.resources"
	Room  string         `json:"room"`
	Text  string         `json:"text"`
	Links []ResourceLink `json:"links"`
}

// SafetyCrisis is the urgent live alert the room's moderators (room moderators, global
// moderators and admins, on every node) get for a post with crisis language. Seq is set
// when the post was published, HeldID when it was held (method detail).
type SafetyCrisis struct {
	Type     string `json:"type"` // "safety.crisis"
	AlertID  string `json:"alert_id,omitempty"`
	Room     string `json:"room"`
	Seq      int64  `json:"seq,omitempty"`
	HeldID   string `json:"held_id,omitempty"`
	Author   User   `json:"author"`
	Excerpt  string `json:"excerpt"`
	Method   bool   `json:"method"`
	Priority string `json:"priority"` // "urgent"
	Edit     bool   `json:"edit,omitempty"`
	Source   string `json:"source,omitempty"`    // "report" when a member reported the post as self-harm, "model" when only the crisis model found it; absent for the lexicon
	ReportID string `json:"report_id,omitempty"` // with source "report"
	At       string `json:"at"`
}

// MessageEdited tells members that a message's text changed.
type MessageEdited struct {
	Type     string `json:"type"` // "message_edited"
	Room     string `json:"room"`
	Seq      int64  `json:"seq"`
	Text     string `json:"text"`
	EditedAt string `json:"edited_at"`
}
