package store

// Privacy keeps consents, exports, erasures and retention (issue 7).
type Privacy interface{}
