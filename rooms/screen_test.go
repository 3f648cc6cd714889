package rooms_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/havenhealth/haven/broker"
	"github.com/havenhealth/haven/protocol"
	"github.com/havenhealth/haven/rooms"
	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/store"
	"github.com/havenhealth/haven/store/sqlite"
)

// safetyStore is a real SQLite store whose safety cases are recorded here (the backends'
// are another part of issue 7), and can be made to fail.
type safetyStore struct {
	store.Store
	mu        sync.Mutex
	cases     []store.NewAECase
	alerts    []store.NewCrisisAlert
	appendErr error // AppendMessage fails with it
	editErr   error // EditMessage fails with it
	failAlert bool
}

// AppendMessage records a case stored with its message.
func (s *safetyStore) AppendMessage(ctx context.Context, m store.NewMessage) (store.Message, bool, error) {
	s.mu.Lock()
	err := s.appendErr
	s.mu.Unlock()
	if err != nil {
		return store.Message{}, false, err
	}
	msg, dup, err := s.Store.AppendMessage(ctx, m)
	if err == nil && !dup && m.AECase != nil {
		s.record(*m.AECase, msg)
	}
	return msg, dup, err
}

// EditMessage records a case stored with the edit.
func (s *safetyStore) EditMessage(ctx context.Context, roomID string, seq int64, authorID, text string, at time.Time,
	ae *store.NewAECase) (store.Message, error) {
	s.mu.Lock()
	err := s.editErr
	s.mu.Unlock()
	if err != nil {
		return store.Message{}, err
	}
	msg, err := s.Store.EditMessage(ctx, roomID, seq, authorID, text, at, ae)
	if err == nil && ae != nil {
		s.record(*ae, msg)
	}
	return msg, err
}

func (s *safetyStore) record(c store.NewAECase, msg store.Message) {
	c.MessageID, c.MessageSeq = msg.ID, msg.Seq
	s.mu.Lock()
	s.cases = append(s.cases, c)
	s.mu.Unlock()
}

func (s *safetyStore) RecordCrisisAlert(_ context.Context, a store.NewCrisisAlert) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAlert {
		return "", errors.New("alert store down")
	}
	s.alerts = append(s.alerts, a)
	return a.ID, nil
}

func (s *safetyStore) snapshot() ([]store.NewAECase, []store.NewCrisisAlert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.NewAECase(nil), s.cases...), append([]store.NewCrisisAlert(nil), s.alerts...)
}

type screenFixture struct {
	st     *safetyStore
	svc    *rooms.Service
	room   store.Room
	author store.User
	mu     sync.Mutex
	events []rooms.Event
}

func (f *screenFixture) HandleMessage(channel string, payload []byte) {
	e, err := rooms.DecodeEvent(payload)
	if err != nil {
		panic(err)
	}
	if channel == broker.ControlChannel {
		f.svc.HandleControl(context.Background(), e)
		return
	}
	f.mu.Lock()
	f.events = append(f.events, e)
	f.mu.Unlock()
}

func (*screenFixture) HandleReconnect() {}

// kinds returns the client event types of the room events of one kind.
func (f *screenFixture) typed(kind string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, e := range f.events {
		if e.Kind != kind {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(e.Data, &v); err != nil {
			panic(err)
		}
		if kind == rooms.KindToUser {
			v["_user"] = e.User
		}
		out = append(out, v)
	}
	return out
}

var testProducts = []safety.Product{{Brand: "Ozempic", Generics: []string{"semaglutide"}},
	{Brand: "Glucophage", Generics: []string{"metformin"}}}

func newScreenFixture(t *testing.T, policy string) *screenFixture {
	t.Helper()
	ctx := context.Background()
	base, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	scr, err := safety.New(safety.Config{Products: testProducts})
	if err != nil {
		t.Fatal(err)
	}
	f := &screenFixture{st: &safetyStore{Store: base}}
	br := broker.NewMemory()
	f.svc = rooms.New(f.st, br, rooms.Config{PostRate: 10000, PostBurst: 10000, Screener: scr,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Safety: rooms.SafetySettings{ResourcesText: "Call 988.",
			ResourceLinks: []protocol.ResourceLink{{Label: "988", URL: "https://988lifeline.org"}}}})
	if err := br.Start(ctx, f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	if f.room, err = base.CreateRoom(ctx, store.Room{ID: "r1", Slug: "screen", Name: "Screen", Guidelines: "Be kind."}); err != nil {
		t.Fatal(err)
	}
	if err := br.Subscribe(ctx, broker.ControlChannel, broker.RoomChannel("screen")); err != nil {
		t.Fatal(err)
	}
	if f.author, err = base.CreateUser(ctx, store.NewUser{ID: "u1", Email: "a@example.org", DisplayName: "ann", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if policy != "" {
		if _, err := base.SetRoomPIIPolicy(ctx, "r1", policy, store.AuditEntry{RoomID: "r1", ActorID: "u1", Action: "room_update"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *screenFixture) member(t *testing.T) *rooms.Member {
	t.Helper()
	m, err := f.svc.Admit(context.Background(), f.author, "screen", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.svc.Release(m) })
	return m
}

func wantScreenCode(t *testing.T, err error, code string) *protocol.Error {
	t.Helper()
	pe := protocol.AsError(err)
	if err == nil || pe.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
	return pe
}

const phonePost = "text me on 415-555-0132 after clinic"

func TestScreenWarnRefusesThenConfirmPosts(t *testing.T) {
	f := newScreenFixture(t, "")
	m := f.member(t)
	ctx := context.Background()
	_, err := f.svc.Post(ctx, m, phonePost, "c1")
	pe := wantScreenCode(t, err, protocol.CodePersonalInfo)
	fs, ok := pe.Extra["findings"].([]protocol.PersonalFinding)
	if !ok || len(fs) != 1 || fs[0].Category != "phone" || phonePost[fs[0].Start:fs[0].End] != "415-555-0132" {
		t.Fatalf("findings = %#v", pe.Extra["findings"])
	}
	if got := f.typed(rooms.KindMessage); len(got) != 0 {
		t.Fatalf("a refused post reached the room: %v", got)
	}
	var res rooms.SendResult
	msg, err := f.svc.Post(ctx, m, phonePost, "c1", rooms.SendOptions{ConfirmPersonalInfo: true, Result: &res})
	if err != nil || msg.Text != phonePost || res.Redacted {
		t.Fatalf("confirmed post = %+v, %v, %+v", msg, err, res)
	}
	// Ordinary health talk passes untouched.
	if _, err := f.svc.Post(ctx, m, "I take 20 mg twice a day and my A1c is 6.5", "c2"); err != nil {
		t.Fatal(err)
	}
}

func TestScreenRedact(t *testing.T) {
	f := newScreenFixture(t, store.PIIRedact)
	var res rooms.SendResult
	msg, err := f.svc.Post(context.Background(), f.member(t), phonePost, "c1", rooms.SendOptions{Result: &res})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg.Text, "415") || !res.Redacted || len(res.Categories) != 1 || res.Categories[0] != "phone" {
		t.Fatalf("stored %q, result %+v", msg.Text, res)
	}
	got := f.typed(rooms.KindMessage)
	if len(got) != 1 || strings.Contains(got[0]["text"].(string), "415") {
		t.Fatalf("published = %v", got)
	}
}

func TestScreenHold(t *testing.T) {
	f := newScreenFixture(t, store.PIIHold)
	_, err := f.svc.Post(context.Background(), f.member(t), phonePost, "c1")
	pe := wantScreenCode(t, err, protocol.CodeHeld)
	held, herr := f.st.HeldMessage(context.Background(), pe.Extra["held_id"].(string))
	if herr != nil || held.Reason != "personal_info" || held.Text != phonePost {
		t.Fatalf("held = %+v, %v", held, herr)
	}
	if got := f.typed(rooms.KindMessage); len(got) != 0 {
		t.Fatalf("a held post reached the room: %v", got)
	}
}

func TestScreenDeploymentDefaultPolicy(t *testing.T) {
	f := newScreenFixture(t, "")
	// The deployment default applies to rooms that set none.
	svc := rooms.New(f.st, broker.NewMemory(), rooms.Config{PostRate: 10000, Screener: mustScreener(t),
		Safety: rooms.SafetySettings{DefaultPIIPolicy: store.PIIHold}})
	m, err := svc.Admit(context.Background(), f.author, "screen", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Release(m)
	_, err = svc.Post(context.Background(), m, phonePost, "c1")
	wantScreenCode(t, err, protocol.CodeHeld)
}

func mustScreener(t *testing.T) *safety.Screener {
	s, err := safety.New(safety.Config{Products: testProducts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScreenCrisisPublishesAndAlerts(t *testing.T) {
	f := newScreenFixture(t, "")
	f.st.failAlert = true // the live alert must go out anyway
	var res rooms.SendResult
	text := "I don't want to be alive anymore, I think about killing myself every night"
	msg, err := f.svc.Post(context.Background(), f.member(t), text, "c1", rooms.SendOptions{Result: &res})
	if err != nil {
		t.Fatalf("crisis post: %v", err)
	}
	if msg.Seq != 1 || !res.Crisis {
		t.Fatalf("msg %+v result %+v", msg, res)
	}
	res1 := f.typed(rooms.KindToUser)
	if len(res1) != 1 || res1[0]["type"] != "safety.resources" || res1[0]["_user"] != "u1" || res1[0]["text"] != "Call 988." {
		t.Fatalf("resources = %v", res1)
	}
	mods := f.typed(rooms.KindModerators)
	if len(mods) != 1 || mods[0]["type"] != "safety.crisis" || mods[0]["priority"] != "urgent" ||
		mods[0]["seq"] != float64(1) || mods[0]["method"] != false || mods[0]["alert_id"] == "" ||
		mods[0]["author"].(map[string]any)["display_name"] != "ann" {
		t.Fatalf("moderator alert = %v", mods)
	}
	if got := f.typed(rooms.KindMessage); len(got) != 1 {
		t.Fatalf("crisis post without method detail must be published: %v", got)
	}
	f.st.failAlert = false
	if _, err := f.svc.Post(context.Background(), f.member(t), "honestly I want to end my life", "c2"); err != nil {
		t.Fatal(err)
	}
	if _, alerts := f.st.snapshot(); len(alerts) != 1 || alerts[0].MessageSeq != 2 || alerts[0].AuthorID != "u1" || alerts[0].ID == "" {
		t.Fatalf("recorded alerts = %+v", alerts)
	}
}

// screenFindings is haven_screen_findings_total for outcome.
func screenFindings(t *testing.T, outcome string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "haven_screen_findings_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestScreenCrisisModelAlertIsCountedApart(t *testing.T) {
	f := newScreenFixture(t, "")
	model, lexicon := screenFindings(t, "crisis_model"), screenFindings(t, "crisis")
	var res rooms.SendResult
	text := "I can't see a way forward anymore and I've stopped caring what happens to me"
	if _, err := f.svc.Post(context.Background(), f.member(t), text, "c1", rooms.SendOptions{Result: &res}); err != nil {
		t.Fatal(err)
	}
	if !res.Crisis {
		t.Fatalf("result %+v: the crisis model should have found it", res)
	}
	if mods := f.typed(rooms.KindModerators); len(mods) != 1 || mods[0]["source"] != "model" {
		t.Fatalf("moderator alert = %v, want source model", mods)
	}
	if _, alerts := f.st.snapshot(); len(alerts) != 1 || len(alerts[0].Terms) != 1 || alerts[0].Terms[0] != safety.ModelTerm {
		t.Fatalf("recorded alerts = %+v", alerts)
	}
	if d := screenFindings(t, "crisis_model") - model; d != 1 {
		t.Errorf("crisis_model counted %v times, want 1", d)
	}
	if d := screenFindings(t, "crisis") - lexicon; d != 0 {
		t.Errorf("crisis counted %v times, want 0", d)
	}
}

func TestScreenCrisisMethodIsHeld(t *testing.T) {
	f := newScreenFixture(t, "")
	text := "I want to kill myself, I have saved up 60 of my sleeping pills to take tonight"
	_, err := f.svc.Post(context.Background(), f.member(t), text, "c1")
	pe := wantScreenCode(t, err, protocol.CodeHeld)
	if got := f.typed(rooms.KindMessage); len(got) != 0 {
		t.Fatalf("method detail reached members: %v", got)
	}
	mods := f.typed(rooms.KindModerators)
	var alert map[string]any
	for _, e := range mods {
		if e["type"] == "safety.crisis" {
			alert = e
		}
	}
	if alert == nil || alert["method"] != true || alert["held_id"] != pe.Extra["held_id"] || alert["seq"] != nil {
		t.Fatalf("moderator events = %v", mods)
	}
	if r := f.typed(rooms.KindToUser); len(r) != 1 || r[0]["type"] != "safety.resources" {
		t.Fatalf("the author of a held crisis post still gets resources: %v", r)
	}
	if _, alerts := f.st.snapshot(); len(alerts) != 1 || !alerts[0].Method || alerts[0].HeldID == "" {
		t.Fatalf("recorded alerts = %+v", alerts)
	}
}

func TestScreenCrisisWithPhoneIsNotRefused(t *testing.T) {
	f := newScreenFixture(t, "") // warn: but nobody in crisis is sent back to edit
	var res rooms.SendResult
	msg, err := f.svc.Post(context.Background(), f.member(t), "I want to end my life, call me 415-555-0132", "c1",
		rooms.SendOptions{Result: &res})
	if err != nil || strings.Contains(msg.Text, "415") || !res.Redacted || !res.Crisis {
		t.Fatalf("post = %+v, %v, %+v", msg, err, res)
	}
}

func TestScreenAdverseEventOpensCase(t *testing.T) {
	f := newScreenFixture(t, store.PIIRedact)
	text := "Since starting Ozempic I get terrible nausea every morning, call 415-555-0132"
	msg, err := f.svc.Post(context.Background(), f.member(t), text, "c1")
	if err != nil {
		t.Fatal(err)
	}
	cases, _ := f.st.snapshot()
	if len(cases) != 1 {
		t.Fatalf("cases = %+v", cases)
	}
	c := cases[0]
	if c.Text != text || c.MessageID != msg.ID || c.MessageSeq != msg.Seq || c.RoomID != "r1" || c.AuthorID != "u1" ||
		c.HeldID != "" || len(c.Products) != 1 || c.Products[0] != "Ozempic" || len(c.Reactions) != 1 ||
		c.Reactions[0] != "nausea" || len(c.Terms) == 0 || c.AwareAt.IsZero() {
		t.Fatalf("case = %+v (the snapshot is the text as received, before redaction)", c)
	}
	// Stored with the message, in the same transaction.
	if got, err := f.st.AECase(context.Background(), c.ID); err != nil || got.MessageSeq != msg.Seq {
		t.Fatalf("stored case = %+v, %v", got, err)
	}
}

// A held post's case is stored with the hold and names it.
func TestScreenAdverseEventHeldPostCase(t *testing.T) {
	f := newScreenFixture(t, store.PIIHold)
	ctx := context.Background()
	_, err := f.svc.Post(ctx, f.member(t), "Ozempic gave me awful nausea, call me on 415-555-0132", "c1")
	heldID, _ := wantScreenCode(t, err, protocol.CodeHeld).Extra["held_id"].(string)
	all, err := f.st.AECases(ctx, store.AECaseFilter{RoomID: "r1"}, 10)
	if err != nil || heldID == "" || len(all) != 1 || all[0].HeldID != heldID || all[0].MessageSeq != 0 {
		t.Fatalf("cases = %+v, %v; want one naming hold %q", all, err, heldID)
	}
}

// A post naming an adverse event that cannot be stored fails as a whole: the sender is told
// and can resend; nothing is published without its case. The resend opens it once.
func TestScreenAdverseEventPostFailsWithItsCase(t *testing.T) {
	f := newScreenFixture(t, "")
	m := f.member(t)
	ctx := context.Background()
	f.st.mu.Lock()
	f.st.appendErr = fmt.Errorf("append: %w", store.ErrUnavailable)
	f.st.mu.Unlock()
	_, err := f.svc.Post(ctx, m, "metformin gave me a rash all over", "c1")
	wantScreenCode(t, err, protocol.CodeUnavailable)
	if cases, _ := f.st.snapshot(); len(cases) != 0 {
		t.Fatalf("cases = %+v after a failed post", cases)
	}
	f.st.mu.Lock()
	f.st.appendErr = nil
	f.st.mu.Unlock()
	msg, err := f.svc.Post(ctx, m, "metformin gave me a rash all over", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.svc.Post(ctx, m, "metformin gave me a rash all over", "c1"); err != nil || again.Seq != msg.Seq {
		t.Fatalf("resend = %+v, %v", again, err)
	}
	if cases, _ := f.st.snapshot(); len(cases) != 1 || cases[0].MessageSeq != msg.Seq {
		t.Fatalf("cases = %+v, want one for seq %d", cases, msg.Seq)
	}
}

// An edit naming an adverse event that cannot be stored fails as a whole, its case with it:
// the message keeps its text, the sender is told and can edit again, which opens the case
// once.
func TestScreenAdverseEventEditFailsWithItsCase(t *testing.T) {
	f := newScreenFixture(t, "")
	m := f.member(t)
	ctx := context.Background()
	msg, err := f.svc.Post(ctx, m, "see you at the meetup", "c1")
	if err != nil {
		t.Fatal(err)
	}
	f.st.mu.Lock()
	f.st.editErr = fmt.Errorf("edit: %w", store.ErrUnavailable)
	f.st.mu.Unlock()
	_, err = f.svc.Edit(ctx, m, msg.Seq, "metformin gave me a rash all over", rooms.SendOptions{})
	wantScreenCode(t, err, protocol.CodeUnavailable)
	if cases, _ := f.st.snapshot(); len(cases) != 0 {
		t.Fatalf("cases = %+v after a failed edit", cases)
	}
	if got, err := f.st.MessageBySeq(ctx, "r1", msg.Seq); err != nil || got.Text != "see you at the meetup" {
		t.Fatalf("message after a failed edit = %+v, %v", got, err)
	}
	f.st.mu.Lock()
	f.st.editErr = nil
	f.st.mu.Unlock()
	if _, err := f.svc.Edit(ctx, m, msg.Seq, "metformin gave me a rash all over", rooms.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	cases, _ := f.st.snapshot()
	if len(cases) != 1 || cases[0].MessageSeq != msg.Seq || cases[0].MessageID != msg.ID {
		t.Fatalf("cases = %+v, want one for seq %d", cases, msg.Seq)
	}
	stored, err := f.st.AECase(ctx, cases[0].ID)
	if err != nil || stored.MessageSeq != msg.Seq || stored.Text != "metformin gave me a rash all over" {
		t.Fatalf("stored case = %+v, %v", stored, err)
	}
}

func TestScreenEdit(t *testing.T) {
	f := newScreenFixture(t, "")
	m := f.member(t)
	ctx := context.Background()
	msg, err := f.svc.Post(ctx, m, "see you at the meetup", "c1")
	if err != nil {
		t.Fatal(err)
	}
	// An edit passes the screens too.
	_, err = f.svc.Edit(ctx, m, msg.Seq, phonePost, rooms.SendOptions{})
	wantScreenCode(t, err, protocol.CodePersonalInfo)
	edited, err := f.svc.Edit(ctx, m, msg.Seq, "see you at the meetup on Friday", rooms.SendOptions{})
	if err != nil || edited.Text != "see you at the meetup on Friday" || edited.EditedAt.IsZero() {
		t.Fatalf("edit = %+v, %v", edited, err)
	}
	var ev map[string]any
	for _, e := range f.typed(rooms.KindEphemeral) {
		if e["type"] == "message_edited" {
			ev = e
		}
	}
	if ev == nil || ev["seq"] != float64(msg.Seq) || ev["text"] != edited.Text || ev["edited_at"] == "" {
		t.Fatalf("message_edited = %v", ev)
	}
	recent, _, _, err := f.svc.Recent(ctx, m.Room, nil)
	if err != nil || len(recent) != 1 || recent[0].Text != edited.Text || recent[0].EditedAt.IsZero() {
		t.Fatalf("history after edit = %+v, %v", recent, err)
	}
	if w := rooms.WireMessage("screen", recent[0]); w.EditedAt == "" {
		t.Fatalf("wire message has no edited_at: %+v", w)
	}
	// An AE named in an edit opens a case with the edited text.
	if _, err := f.svc.Edit(ctx, m, msg.Seq, "Ozempic gave me awful nausea", rooms.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if cases, _ := f.st.snapshot(); len(cases) != 1 || cases[0].MessageSeq != msg.Seq || cases[0].Text != "Ozempic gave me awful nausea" {
		t.Fatalf("cases = %+v", cases)
	}
	// Someone else's message, a missing one, a deleted one.
	other, err := f.st.CreateUser(ctx, store.NewUser{ID: "u2", Email: "b@example.org", DisplayName: "bob", PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := f.svc.Admit(ctx, other, "screen", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.svc.Release(m2)
	_, err = f.svc.Edit(ctx, m2, msg.Seq, "mine now", rooms.SendOptions{})
	wantScreenCode(t, err, protocol.CodeForbidden)
	_, err = f.svc.Edit(ctx, m, 99, "nothing", rooms.SendOptions{})
	wantScreenCode(t, err, protocol.CodeNotFound)
	_, err = f.svc.Edit(ctx, m, msg.Seq, "   ", rooms.SendOptions{})
	wantScreenCode(t, err, protocol.CodeBadRequest)
	if err := f.svc.Delete(ctx, m, msg.Seq); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Edit(ctx, m, msg.Seq, "back from the dead", rooms.SendOptions{})
	wantScreenCode(t, err, protocol.CodeConflict)
}

func TestSetPIIPolicy(t *testing.T) {
	f := newScreenFixture(t, "")
	ctx := context.Background()
	err := f.svc.SetPIIPolicy(ctx, f.author, "screen", store.PIIRedact)
	wantScreenCode(t, err, protocol.CodeForbidden)
	admin, err := f.st.CreateUser(ctx, store.NewUser{ID: "u9", Email: "z@example.org", DisplayName: "zed", PasswordHash: "h", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	wantScreenCode(t, f.svc.SetPIIPolicy(ctx, admin, "screen", "shout"), protocol.CodeBadRequest)
	if err := f.svc.SetPIIPolicy(ctx, admin, "screen", store.PIIRedact); err != nil {
		t.Fatal(err)
	}
	if p, err := f.svc.PIIPolicy(ctx, f.room); err != nil || p != store.PIIRedact {
		t.Fatalf("policy = %q, %v", p, err)
	}
	log, err := f.st.AuditLog(ctx, "r1", 0, 10)
	if err != nil || len(log) == 0 || log[0].Action != "room_update" || !strings.Contains(log[0].Detail, `"pii_policy":"redact"`) {
		t.Fatalf("audit = %+v, %v", log, err)
	}
}
