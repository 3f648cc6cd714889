package safety

import (
	"slices"
	"testing"
)

func TestProductsNamed(t *testing.T) {
	s, err := New(Config{Products: []Product{
		{Brand: "Ozempic", Generics: []string{"semaglutide"}, Misspellings: []string{"ozempik"}},
		{Brand: "Wegovy", Generics: []string{"semaglutide"}},
		{Brand: "Lantus", Generics: []string{"insulin glargine"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"Ask your doctor about OZEMPIC today!", []string{"Ozempic"}},
		{"ozempik and lantus, then Ozempic again", []string{"Ozempic", "Lantus"}},
		{"semaglutide works for me", []string{"semaglutide"}}, // shared generic: named by itself
		{"I switched to insulin glargine", []string{"Lantus"}},
		{"it was not the Wegovy", []string{"Wegovy"}}, // a negated mention still names it
		{"insulin is expensive", nil},
		{"Ozempics", nil}, // whole words only
		{"", nil},
		{"!!! ???", nil},
	} {
		if got := s.Products(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("Products(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestProductsNoneListed(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Products("Ozempic"); got != nil {
		t.Fatalf("with no products listed, Products = %q", got)
	}
}
