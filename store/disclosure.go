package store

// Disclosure keeps account badges (company affiliation, verified clinician) and room and
// session sponsorship disclosures (issue 7).
type Disclosure interface{}
