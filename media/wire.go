package media

import (
	"encoding/json"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/havenhealth/haven/protocol"
)

// Error codes media adds to PROTOCOL v1's.
const (
	CodeSessionFull = "session_full" // the session has reached its capacity
	CodeNotStarted  = "not_started"  // the room has no media session running
)

// Commands clients send over the WebSocket (docs/PROTOCOL.md, "Media").
var Commands = []string{
	"media.start", "media.end", "media.join", "media.leave", "media.offer", "media.answer",
	"media.candidate", "media.publish", "media.unpublish", "media.hand", "media.promote",
	"media.demote", "media.mute", "media.remove", "media.layer",
}

// Source kinds a participant publishes.
const (
	KindAudio  = "audio"
	KindVideo  = "video"
	KindScreen = "screen"
)

func validKind(k string) bool { return k == KindAudio || k == KindVideo || k == KindScreen }

// Ranks order who may act on whom, as rooms orders them; a clinician hosts like a room host.
// An actor acts only on targets of lower rank.
const (
	RankMember = iota
	RankHost
	RankRoomModerator
	RankModerator
	RankAdmin
)

// ClientRef names one WebSocket connection anywhere in the cluster: the node holding it and
// that node's key for it.
type ClientRef struct {
	Node string `json:"node"`
	Key  string `json:"key"`
}

// Actor is who sent a command, as the node holding their connection saw them.
type Actor struct {
	User protocol.User `json:"user"`
	Rank int           `json:"rank"`
}

// Request is one media command on its way to the session's owner. The node holding the
// client's connection fills in who, where and the room; Body is the client's command.
type Request struct {
	ID       string          `json:"id,omitempty"` // the client's command id; "" asks for no reply
	Type     string          `json:"type"`
	Room     string          `json:"room"`
	RoomID   string          `json:"room_id"`   // store id, for audit entries
	RoomKind string          `json:"room_kind"` // webinar, support (chat rooms have no media)
	Client   ClientRef       `json:"client"`
	Actor    Actor           `json:"actor"`
	Body     json.RawMessage `json:"body,omitempty"`
	Token    string          `json:"tok,omitempty"` // completes the waiting Handle on the client's node
}

// command is the media fields of a client command; which are used depends on the type.
type command struct {
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	Kind      string                   `json:"kind"`
	Mid       string                   `json:"mid"`
	Raised    *bool                    `json:"raised"`
	User      string                   `json:"user"`
	Muted     *bool                    `json:"muted"`
	Track     string                   `json:"track"`
	Layer     string                   `json:"layer"`
	Reason    string                   `json:"reason"`
}

// ICEServer is one entry of a join reply's ice_servers, shaped like RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// wireState is the media.state event, and the state in a join reply.
type wireState struct {
	Type         string            `json:"type"` // "media.state"
	Room         string            `json:"room"`
	Kind         string            `json:"kind"`
	StartedAt    string            `json:"started_at"`
	Participants []wireParticipant `json:"participants"`
	Tracks       []wireTrack       `json:"tracks"`
	Hands        []wireHand        `json:"hands,omitempty"` // hosts' view only
}

type wireParticipant struct {
	ID         string        `json:"id"`
	User       protocol.User `json:"user"`
	Role       string        `json:"role"`       // host, speaker, attendee
	Muted      []string      `json:"muted"`      // kinds a host muted
	Publishing []string      `json:"publishing"` // kinds being forwarded
}

type wireTrack struct {
	ID          string   `json:"id"`
	Participant string   `json:"participant"`
	User        string   `json:"user"`
	Kind        string   `json:"kind"`
	Muted       bool     `json:"muted"`
	Layers      []string `json:"layers,omitempty"` // simulcast layers being received (q, h, f)
}

type wireHand struct {
	User     protocol.User `json:"user"`
	RaisedAt string        `json:"raised_at"`
}

// wireStarted tells a room that its media session has started.
type wireStarted struct {
	Type      string        `json:"type"` // "media.started"
	Room      string        `json:"room"`
	Kind      string        `json:"kind"`
	StartedAt time.Time     `json:"started_at"`
	By        protocol.User `json:"by"`
}

type wireEnded struct {
	Type   string `json:"type"` // "media.ended"
	Room   string `json:"room"`
	Reason string `json:"reason"`
}

type wireOffer struct {
	Type string `json:"type"` // "media.offer"
	Room string `json:"room"`
	SDP  string `json:"sdp"`
}

type wireHandEvent struct {
	Type   string `json:"type"` // "media.hand"
	Room   string `json:"room"`
	Raised bool   `json:"raised"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own wire structs are marshalled
	}
	return b
}
