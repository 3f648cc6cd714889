package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/havenhealth/haven/internal/testenv"
	"github.com/havenhealth/haven/internal/wsclient"
	"github.com/havenhealth/haven/safety"
	"github.com/havenhealth/haven/store"
)

// TestBrowserSafetyConsole: a global moderator works an overdue AE case in the console
// (clicks only): sees it in red, opens it, asks the author a question; the author, in
// their own browser, gets the live notice, opens their safety messages and answers; the
// reviewer sees the answer and closes the case with a reason. On the way it checks the
// crisis alerts: the one only the crisis model found says so, and acknowledging one works.
func TestBrowserSafetyConsole(t *testing.T) {
	testenv.Chromium(t)
	c := startCluster(t, sqliteSetup())
	url := c.Nodes[0].URL
	rev, mem := newBrowserMember(t, "reviewer"), newBrowserMember(t, "author")
	suffix := time.Now().UnixNano() % 1_000_000

	rev.signup(url, fmt.Sprintf("rev%d@example.org", suffix), fmt.Sprintf("Kestrel%d", suffix))
	revID := browserUserID(rev)
	if st, err := wsclient.DoJSON(ctxT(t, 5*time.Second), http.MethodPut, url+"/api/users/"+revID+"/role",
		c.adminToken(), []byte(`{"role":"moderator"}`), nil); err != nil || st != http.StatusOK {
		t.Fatalf("make global moderator: %d %v", st, err)
	}
	mem.signup(url, fmt.Sprintf("auth%d@example.org", suffix), fmt.Sprintf("Badger%d", suffix))
	memID := browserUserID(mem)
	mem.openRoom()

	room, err := c.Nodes[0].St.RoomBySlug(ctxT(t, 5*time.Second), browserRoom)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Nodes[0].Srv.Cases().Open(ctxT(t, 5*time.Second), store.NewAECase{RoomID: room.ID, AuthorID: memID,
		Text: "since starting drugzol my skin is covered in a rash", Products: []string{"drugzol"},
		Reactions: []string{"rash"}, AwareAt: time.Now().Add(-20 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	// Two crisis alerts: one the lexicon raised, one only the crisis model found.
	for _, a := range []store.NewCrisisAlert{
		{ID: "ca_lexicon", Text: "I want to end my life", Terms: []string{"end my life"}},
		{ID: "ca_model", Text: "I can't see a way forward anymore", Terms: []string{safety.ModelTerm}},
	} {
		a.RoomID, a.MessageSeq, a.AuthorID, a.At = room.ID, 1, memID, time.Now()
		if _, err := c.Nodes[0].St.RecordCrisisAlert(ctxT(t, 5*time.Second), a); err != nil {
			t.Fatal(err)
		}
	}

	rev.do("open console", 15*time.Second,
		chromedp.Navigate(url+"/safety"),
		chromedp.WaitVisible(chromedp.CSS(`#safety-view tr[data-id="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#safety-view .alerts li[data-id="ca_model"]`)))
	for alert, want := range map[string]bool{"ca_model": true, "ca_lexicon": false} {
		if got := browserEval[bool](rev, `document.querySelector('#safety-view .alerts li[data-id="`+alert+`"]').textContent.includes("found by the crisis model")`); got != want {
			t.Errorf("alert %s says it was found by the crisis model: %v, want %v", alert, got, want)
		}
	}
	rev.do("acknowledge the model's alert", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#safety-view .alerts li[data-id="ca_model"] button`)))
	rev.waitJS("acknowledged", `document.querySelector('#safety-view .alerts li[data-id="ca_model"]').textContent.includes("acknowledged by")`, 10*time.Second)
	if !browserEval[bool](rev, `document.querySelector('#safety-view tr[data-id="`+id+`"] td.overdue') !== null`) {
		t.Errorf("the overdue case is not shown in red")
	}
	rev.do("open case", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#safety-view tr[data-id="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#safety-view .verbatim`)))
	if got := browserEval[string](rev, `document.querySelector("#safety-view .verbatim").textContent`); got != "since starting drugzol my skin is covered in a rash" {
		t.Fatalf("verbatim text = %q", got)
	}
	rev.do("ask the author", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#safety-view textarea[aria-label="Message to the author"]`), "When did the rash start?"),
		chromedp.Click(chromedp.CSS(`#safety-view button[data-act="send-followup"]`)))

	mem.waitJS("live follow-up notice", `document.querySelector("#notices").textContent.includes("safety team") && !document.querySelector("#safety-link").hidden`, 10*time.Second)
	mem.do("open safety messages", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#safety-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#safety-view .thread li`)))
	mem.waitJS("question shown", `document.querySelector("#safety-view .thread").textContent.includes("When did the rash start?")`, 5*time.Second)
	mem.do("answer", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#safety-view textarea[aria-label="Your answer"]`), "Three days after the first dose."),
		chromedp.Click(chromedp.CSS(`#safety-view button[data-act="answer"]`)))
	mem.waitJS("answer shown", `document.querySelector("#safety-view .thread").textContent.includes("Three days after the first dose.")`, 10*time.Second)

	rev.do("reload case", 10*time.Second, chromedp.Click(chromedp.CSS(`#safety-view tr[data-id="`+id+`"]`)))
	rev.waitJS("answer reaches the reviewer", `document.querySelector("#safety-view .thread").textContent.includes("Three days after the first dose.")`, 10*time.Second)
	rev.do("close", 10*time.Second,
		chromedp.SetValue(chromedp.CSS(`#safety-view select[aria-label="Close reason"]`), "reported_to_regulator"),
		chromedp.Click(chromedp.CSS(`#safety-view button[data-act="close"]`)))
	rev.waitJS("closed", `document.querySelector("#safety-view .verbatim") && document.querySelector("#safety-view h3 + p").textContent.includes("reported_to_regulator")`, 10*time.Second)
	rev.checkConsole()
	mem.checkConsole()
}
