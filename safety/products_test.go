package safety

// testProducts is the product list of the tests and the corpus.
var testProducts = []Product{
	{Brand: "Ozempic", Generics: []string{"semaglutide"}, Misspellings: []string{"ozempik", "ozempick", "ozimpic"}},
	{Brand: "Wegovy", Generics: []string{"semaglutide"}, Misspellings: []string{"wegovey"}},
	{Brand: "Mounjaro", Generics: []string{"tirzepatide"}, Misspellings: []string{"monjaro", "mounjaru"}},
	{Brand: "Trulicity", Generics: []string{"dulaglutide"}},
	{Brand: "Glucophage", Generics: []string{"metformin"}, Misspellings: []string{"metforman", "metformine", "metformon"}},
	{Brand: "Jardiance", Generics: []string{"empagliflozin"}},
	{Brand: "Januvia", Generics: []string{"sitagliptin"}},
	{Brand: "Lantus", Generics: []string{"insulin glargine"}},
	{Brand: "Humalog", Generics: []string{"insulin lispro"}},
	{Brand: "Humira", Generics: []string{"adalimumab"}, Misspellings: []string{"humera", "humirah"}},
	{Brand: "Enbrel", Generics: []string{"etanercept"}},
	{Brand: "Lipitor", Generics: []string{"atorvastatin"}},
	{Brand: "Zoloft", Generics: []string{"sertraline"}},
	{Brand: "Lyrica", Generics: []string{"pregabalin"}},
	{Brand: "Keytruda", Generics: []string{"pembrolizumab"}},
	{Brand: "Nolvadex", Generics: []string{"tamoxifen"}},
	{Brand: "Femara", Generics: []string{"letrozole"}},
	{Brand: "Trexall", Generics: []string{"methotrexate"}},
}
