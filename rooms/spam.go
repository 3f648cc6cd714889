package rooms

import (
	"hash/maphash"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/havenhealth/haven/protocol"
)

// Duplicate-message spam: the same text posted a third time by one member within a minute
// is refused. Only fingerprints are kept, in a fixed ring per member, so memory stays
// bounded however much a member posts; a member who posts more than spamMemory other
// messages in between has, in effect, stopped repeating themselves.
const (
	spamWindow  = 60 * time.Second
	spamRepeats = 3 // the post that would be the third copy in the window is refused
	spamMemory  = 32
)

type textSeen struct {
	fp uint64
	at time.Time
}

var spamSeed = maphash.MakeSeed()

// fingerprint hashes text ignoring case and every kind of white space, so "Buy NOW" and
// "buy  now" and "buynow" count as the same post.
func fingerprint(text string) uint64 {
	var h maphash.Hash
	h.SetSeed(spamSeed)
	// Hash in chunks: one Write per rune costs more than the folding itself.
	var buf [256]byte
	n := 0
	for _, r := range text {
		if unicode.IsSpace(r) {
			continue
		}
		if n > len(buf)-utf8.UTFMax {
			h.Write(buf[:n])
			n = 0
		}
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			buf[n] = byte(r)
			n++
			continue
		}
		n += utf8.EncodeRune(buf[n:], unicode.ToLower(r))
	}
	h.Write(buf[:n])
	return h.Sum64()
}

func spamStep(d *Draft) (Verdict, *protocol.Error) {
	d.fingerprint = fingerprint(d.Text)
	m := d.Member
	var times [spamMemory]time.Time
	n := 0
	m.mu.Lock()
	for _, t := range m.texts {
		if t.fp == d.fingerprint && !t.at.IsZero() && d.Now.Sub(t.at) < spamWindow {
			times[n] = t.at
			n++
		}
	}
	m.mu.Unlock()
	if n < spamRepeats-1 {
		return Allow, nil
	}
	// Posting is allowed again once all but spamRepeats-2 of the copies have left the window.
	slices.SortFunc(times[:n], func(a, b time.Time) int { return a.Compare(b) })
	wait := times[n-(spamRepeats-1)].Add(spamWindow).Sub(d.Now)
	return Reject, protocol.Errorf(protocol.CodeSpam, "you have already posted this twice in the last minute").
		With("retry_after_ms", wait.Milliseconds()+1)
}

// noteText records a post the member made (stored or held), for the spam check.
func (m *Member) noteText(fp uint64, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.texts[m.textsNext] = textSeen{fp, at}
	m.textsNext = (m.textsNext + 1) % len(m.texts)
}
