package safety

import (
	"testing"
)

func newTestScreener(t testing.TB, cfg Config) *Screener {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPersonalFinds(t *testing.T) {
	s := newTestScreener(t, Config{AllowDomains: []string{"nhs.uk"}})
	for _, tc := range []struct {
		name, text, span string
		cat              Category
		term             string
	}{
		{"us dashes", "call me on 555-201-4477 tonight", "555-201-4477", Phone, "call"},
		{"us parens", "cell (312) 555-0198", "(312) 555-0198", Phone, "cell"},
		{"us dots", "it's 212.555.0177", "212.555.0177", Phone, ""},
		{"us bare", "I'm at 4155550172 if you want", "4155550172", Phone, ""},
		{"us local with keyword", "Dad's number is 555-0142", "555-0142", Phone, "number"},
		{"uk mobile", "ring 07700 900123 later", "07700 900123", Phone, "ring"},
		{"uk landline", "line is 020 7946 0958", "020 7946 0958", Phone, ""},
		{"fax", "Fax the form to 0161 496 0000", "0161 496 0000", Phone, "fax"},
		{"international", "WhatsApp +44 7700 900456 ok", "+44 7700 900456", Phone, "whatsapp"},
		{"international 00", "reach me at 0031 6 1234 5678", "0031 6 1234 5678", Phone, "reach me"},
		{"uk brackets", "Tel +44 (0)113 496 0123 ext 4", "+44 (0)113 496 0123", Phone, "tel"},
		{"french", "au 06 12 34 56 78 si", "06 12 34 56 78", Phone, ""},
		{"email", "mail jane.doe@example.com now", "jane.doe@example.com", Email, ""},
		{"email obfuscated", "I'm sarah dot jones at gmail dot com", "sarah dot jones at gmail dot com", Email, ""},
		{"email brackets", "tom[at]example[dot]org", "tom[at]example[dot]org", Email, ""},
		{"address", "meet at 42 Oak Street, Springfield, IL 62704 on", "42 Oak Street, Springfield, IL 62704", Address, ""},
		{"address lower", "we moved to 77 harbour view terrace last month", "77 harbour view terrace", Address, ""},
		{"address unit", "9 Riverside Drive, Apt 3B, Brooklyn, NY 11201", "9 Riverside Drive, Apt 3B, Brooklyn, NY 11201", Address, ""},
		{"po box", "PO Box 4471 please", "PO Box 4471", Address, ""},
		{"postcode", "postcode is SW1A 1AA ok", "SW1A 1AA", Address, ""},
		{"zip", "zip code 90210 area", "90210", Address, ""},
		{"ssn", "SSN 123-45-6789 ok", "123-45-6789", SSN, "ssn"},
		{"ssn shape", "it's 219-09-9999 apparently", "219-09-9999", SSN, ""},
		{"ni number", "NI is JG 10 37 48 D", "JG 10 37 48 D", SSN, ""},
		{"mrn", "My MRN is 00123456 ok", "00123456", RecordNumber, "MRN"},
		{"member id", "member ID: XJH-4471-2293, covered?", "XJH-4471-2293", RecordNumber, "member ID"},
		{"nhs number", "NHS number 943 476 5919 was", "943 476 5919", RecordNumber, "NHS number"},
		{"mbi", "Medicare 1EG4-TE5-MK73 pending", "1EG4-TE5-MK73", RecordNumber, ""},
		{"card", "card 4111 1111 1111 1111 exp", "4111 1111 1111 1111", RecordNumber, "card"},
		{"dob numeric", "DOB 03/04/1985, diagnosed", "03/04/1985", DateOfBirth, "dob"},
		{"dob text", "born on 14 March 1972 so", "14 March 1972", DateOfBirth, "born"},
		{"dob iso", "date of birth: 1990-07-21", "1990-07-21", DateOfBirth, "birth"},
		{"dob partial", "My birthday is March 3rd!", "March 3rd", DateOfBirth, "birthday"},
		{"full date", "surgery on 14 May 2025", "14 May 2025", FullDate, ""},
		{"full date us", "Diagnosed January 12, 2016 then", "January 12, 2016", FullDate, ""},
		{"url", "see https://www.example.org/a?b=1.", "https://www.example.org/a?b=1", URL, ""},
		{"url bare", "my blog is janes.wordpress.com ok", "janes.wordpress.com", URL, ""},
		{"url any tld with path", "linktr.ee/sugarfreesam has it", "linktr.ee/sugarfreesam", URL, ""},
		{"url parens", "(see example.org/a_(b)).", "example.org/a_(b)", URL, ""},
		{"ipv4", "on 203.0.113.45 now", "203.0.113.45", IPAddress, ""},
		{"ipv6", "address 2001:db8:85a3::8a2e:370:7334 ok", "2001:db8:85a3::8a2e:370:7334", IPAddress, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := s.Personal(tc.text)
			for _, f := range fs {
				if tc.text[f.Start:f.End] == tc.span && f.Category == tc.cat {
					if f.Term != tc.term {
						t.Errorf("term %q, want %q", f.Term, tc.term)
					}
					return
				}
			}
			t.Errorf("%q: want %s %q, found %s", tc.text, tc.cat, tc.span, describe(tc.text, fs))
		})
	}
}

func TestPersonalIgnores(t *testing.T) {
	s := newTestScreener(t, Config{AllowDomains: []string{"nhs.uk", "havenhealth.org"}})
	for _, text := range []string{
		"I take 500 mg twice a day",
		"HbA1c came back at 6.5% this time",
		"blood pressure 120/80, sugar 5.6",
		"injection at 10:30 and lunch at 12:15",
		"diagnosed in 2019, born in 1985",
		"range 80-180 mg/dL, mostly 100-140",
		"readings 112 145 167 98 134",
		"Accu-Chek Guide 2000 and Contour Next One, Dexcom G7",
		"walked 10 000 steps, lost 12.5 kg",
		"ratio 1:10, eGFR 45, platelets 150 000",
		"copay was $1,250 and £2,340 raised",
		"took 2 pills on the way to work",
		"5 miles down the road and 3 laps of the park",
		"St John's wort and ward 5 at St Thomas",
		"pain 7/10 today, half a tablet 1/2",
		"Since March 2020, every 2nd Tuesday",
		"version 3.2.1 and firmware 10.2.3.4",
		"e.g. carbs, i.e. bread, Dr.Smith said A1C 6.5%.Happy",
		"https://www.nhs.uk/conditions/ and havenhealth.org/guidelines",
		"My member ID card arrived, the hospital's policy changed",
		"Batch 666-12-3456 on the box",
		"12:30:45 and still awake",
		"@sarah thanks, email me later",
	} {
		if fs := s.Personal(text); len(fs) > 0 {
			t.Errorf("%q: %s", text, describe(text, fs))
		}
	}
}

func TestPersonalConfidence(t *testing.T) {
	s := newTestScreener(t, Config{})
	for _, tc := range []struct {
		text     string
		min, max float64
	}{
		{"surgery on 14 May 2025", 0.55, 0.65},        // a date that is not a birth date
		{"DOB 03/04/1985", 0.9, 1},                    // beside a birth keyword
		{"I'm at 4155550172 if you want", 0.55, 0.65}, // bare ten digits
		{"call me on 555-201-4477", 0.9, 1},           // keyword and shape
	} {
		fs := s.Personal(tc.text)
		if len(fs) != 1 || fs[0].Confidence < tc.min || fs[0].Confidence > tc.max {
			t.Errorf("%q: want one finding in [%v, %v], got %s", tc.text, tc.min, tc.max, describe(tc.text, fs))
		}
	}
}
