package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var sampleMessage = Message{Type: "message", Room: "type-1-diabetes", Seq: 123456, MessageID: "m_0123456789abcdef",
	Author: User{ID: "u_0123456789abcdef", DisplayName: "Night Owl", Role: "member"},
	Text:   strings.Repeat("x", 200), TS: TS(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC))}

var sampleSend = []byte(`{"id":"c42","type":"send","room":"type-1-diabetes","text":"` + strings.Repeat("x", 200) +
	`","client_msg_id":"load-abc-42"}`)

func TestMessageRoundTrip(t *testing.T) {
	b, err := json.Marshal(sampleMessage)
	if err != nil {
		t.Fatal(err)
	}
	var got Message
	if err := json.Unmarshal(b, &got); err != nil || got != sampleMessage {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if !strings.Contains(string(b), `"ts":"2026-01-02T03:04:05.006Z"`) || strings.Contains(string(b), "deleted") {
		t.Fatalf("wire form %s", b)
	}
}

func TestDecodeCommand(t *testing.T) {
	var c Command
	if err := json.Unmarshal(sampleSend, &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "c42" || c.Type != "send" || c.Room != "type-1-diabetes" || len(c.Text) != 200 || c.ClientMsgID != "load-abc-42" {
		t.Fatalf("decoded %+v", c)
	}
}

// BenchmarkEncodeMessage is the per-message cost of a `message` event: paid once per
// message, whatever the number of recipients.
func BenchmarkEncodeMessage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(sampleMessage); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeCommand is the per-command cost of reading a 200-character send.
func BenchmarkDecodeCommand(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(sampleSend)))
	for b.Loop() {
		var c Command
		if err := json.Unmarshal(sampleSend, &c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReply is the cost of a send's ok reply.
func BenchmarkReply(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Reply("c42", map[string]any{"seq": int64(123456), "message_id": "m_0123456789abcdef"})
	}
}
