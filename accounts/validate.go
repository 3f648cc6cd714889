package accounts

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/havenhealth/haven/protocol"
)

const (
	minPassword = 8
	maxPassword = 256
	minName     = 3
	maxName     = 32
	maxEmail    = 254 // RFC 5321's path limit
)

// normalizeEmail trims and lower-cases, so one mailbox is one account however it is typed.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// checkEmail sanity-checks a normalised address. It does not try to be RFC 5322 complete:
// it accepts the plain addr-spec form people type and rejects display names, quoting and
// addresses without a dotted domain, which are typos far more often than real mailboxes.
func checkEmail(email string) error {
	bad := protocol.Errorf(protocol.CodeBadRequest, "enter a valid email address")
	if email == "" || len(email) > maxEmail {
		return bad
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return bad
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") {
		return bad
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return bad
	}
	return nil
}

func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if !utf8.ValidString(pw) || n < minPassword || n > maxPassword {
		return protocol.Errorf(protocol.CodeBadRequest, "password must be %d to %d characters", minPassword, maxPassword)
	}
	return nil
}

// normalizeName trims the pseudonym and collapses runs of spaces, so "Ann  B" cannot pose
// as "Ann B" beside it in a room.
func normalizeName(name string) string {
	return strings.Join(strings.FieldsFunc(name, func(r rune) bool { return r == ' ' }), " ")
}

// checkName validates a normalised display name against the normalised email. The name is
// a pseudonym: members of patient communities must not out themselves by accident, so a
// name that is the email or its local part (ignoring case, punctuation and +tags) is
// refused.
func checkName(name, email string) error {
	n := utf8.RuneCountInString(name)
	if n < minName || n > maxName {
		return protocol.Errorf(protocol.CodeBadRequest, "display name must be %d to %d characters", minName, maxName)
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" ._-", r) {
			return protocol.Errorf(protocol.CodeBadRequest, "display name may contain only letters, digits, spaces and . _ -")
		}
	}
	local, _, _ := strings.Cut(email, "@")
	base, _, _ := strings.Cut(local, "+")
	key := nameKey(name)
	if strings.EqualFold(name, email) || key == nameKey(local) || key == nameKey(base) {
		return protocol.Errorf(protocol.CodeBadRequest, "display name must not be your email address; choose a pseudonym")
	}
	return nil
}

// nameKey keeps only letters and digits, lower-cased, so "Jane Doe" matches "jane.doe".
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func validRole(role string) bool {
	switch role {
	case "member", "clinician", "moderator", "admin":
		return true
	}
	return false
}
