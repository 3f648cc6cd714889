package load

import (
	"errors"
	"strconv"
)

// fields are the parts of a server object the load tool looks at. Everything else is
// skipped without decoding, so a receiver costs little more than the socket read.
type fields struct {
	Type, Re, Code, Room []byte // raw string contents (still JSON-escaped)
	Action               []byte // a moderation event's action (raw string contents)
	Text                 []byte // raw string contents; only its ASCII prefix is used
	Seq, LastSeq         int64
	GuidelinesVersion    int64
	RetryAfterMS         int64
}

var errSyntax = errors.New("malformed JSON object")

// scanObject fills f from the top-level members of one JSON object.
func scanObject(b []byte, f *fields) error {
	*f = fields{}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSyntax
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return errSyntax
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] != '"' {
			return errSyntax
		}
		kEnd := skipString(b, i)
		if kEnd < 0 {
			return errSyntax
		}
		key := b[i+1 : kEnd-1]
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return errSyntax
		}
		i = skipWS(b, i+1)
		vEnd := skipValue(b, i)
		if vEnd < 0 {
			return errSyntax
		}
		v := b[i:vEnd]
		switch string(key) { // no allocation: the compiler special-cases string(bytes) in a switch
		case "type":
			f.Type = unquote(v)
		case "re":
			f.Re = unquote(v)
		case "code":
			f.Code = unquote(v)
		case "room":
			if len(v) > 0 && v[0] == '"' { // the join reply's room is an object
				f.Room = unquote(v)
			}
		case "text":
			f.Text = unquote(v)
		case "action":
			f.Action = unquote(v)
		case "seq":
			f.Seq = atoi(v)
		case "last_seq":
			f.LastSeq = atoi(v)
		case "guidelines_version":
			f.GuidelinesVersion = atoi(v)
		case "retry_after_ms":
			f.RetryAfterMS = atoi(v)
		}
		i = vEnd
	}
}

func unquote(v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' {
		return v[1 : len(v)-1]
	}
	return nil
}

func atoi(v []byte) int64 {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j)
				if j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// sentAt reads the send time the load tool put at the start of a message text:
// "L<unix nanoseconds>|...". It returns 0 for texts that are not the load tool's.
func sentAt(text []byte) int64 {
	if len(text) < 3 || text[0] != 'L' {
		return 0
	}
	var n int64
	for _, c := range text[1:] {
		if c == '|' {
			return n
		}
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return 0
}
