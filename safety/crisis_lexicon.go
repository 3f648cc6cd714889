package safety

// Flags of crisis and method entries.
const (
	fSelf      uint32 = 1 << iota // names the speaker ("kill myself"): no subject check
	fTopic                        // a noun or adjective ("suicidal"): whose it is decides
	fMethod                       // the phrase also names a means: reported as crisis_method too
	fNear                         // a method term that counts beside a crisis phrase in the next or previous sentence
	fEnd                          // the phrase counts only where it ends its clause
	fMeans                        // a means that with an intent is a crisis on its own (crisis_means.go)
	fNeedsDrug                    // fMeans only with a drug named nearby ("saving my insulin", not "saving my money")
	fAct                          // counts only after a wish within actWindow words (actPhrases)
	fPlan                         // an fAct phrase that a plan ("going to") also introduces
	fHarmCtx                      // counts only with a self-harm context nearby: "on purpose", "relapsed", "to feel"
	fStock                        // a stockpile: with a drug and no benign reason, a crisis even with no intent told
	fQuiet                        // a means that counts only for an implied crisis, not reported as a method term itself
)

type phraseDef struct {
	term    string // canonical term; "" means the first expansion
	pattern string // see lexicon.add
	weight  float64
	flags   uint32
}

// crisisPhrases are ideation, intent and self-harm. Weights are the confidence with no
// context against them; modifiers in crisis.go lower them for negation, advice, third
// parties, history and jokes. A phrase without fSelf or fTopic is a verb phrase whose subject
// is checked just before it ("she wanted to die" is not the speaker).
var crisisPhrases = []phraseDef{
	{"kill myself", "kill|killing|kil myself|my+self|meself|myslef", 0.95, fSelf},
	{"kill myself", "kill|end himself|herself|themselves|his+life|her+life|their+life", 0.85, 0},
	{"end my life", "end|ending|take|taking my [own] life", 0.95, fSelf},
	{"end my life", "end|ending it all", 0.9, 0},
	{"end my life", "end|ending it tonight|today|now", 0.85, 0},
	{"end my life", "feel|feeling|felt like ending it|dying|giving+up", 0.75, 0},
	{"end my life", "going+to|gonna|decided+to|ready+to|want+to|wanna|planning+to|plan+to end it|things", 0.7, 0},
	{"end my life", "thinking|think|thought|fantasising|fantasizing|fantasise|fantasize|dreaming|obsessing about|of " +
		"ending+things|ending+it|not+existing|not+being+alive|not+being+here|being+dead", 0.85, 0},
	{"want to die", "thinking|think|thought|fantasising|fantasizing|dreaming|obsessing about|of dying|death", 0.65, 0},
	{"want to die", "disappear and never come+back|return|be+found", 0.7, 0},
	{"want to die", "want+to|wanna|need+to die", 0.9, 0},
	{"want to die", "rather die|be+dead", 0.6, 0},
	{"want to die", "wanted|wants to die", 0.8, 0},
	{"want to die", "part of me wants|want to die", 0.85, fSelf},
	{"want to die", "want+to|wanna be dead", 0.9, 0},
	{"want to die", "wish i was|were|could+be dead", 0.9, fSelf},
	{"want to die", "wish i wasn't|weren't|wasnt alive|here|born|around", 0.85, fSelf},
	{"want to die", "wish i was|were never born", 0.85, fSelf},
	{"want to die", "wish i'd|i+had never been born", 0.85, fSelf},
	{"want to die", "wish|wishing|wished i could|would [just] die|disappear|sleep+forever|not+wake+up", 0.8, fSelf},
	{"want to die", "wish i didn't|wouldn't wake up", 0.85, fSelf},
	{"don't want to live", "don't|dont|do+not|dnt [really|even|just] want+to|wanna live|exist|be+alive|be+here+anymore|" +
		"wake+up+anymore|wake+up+tomorrow|be+here+any+more|live+anymore|keep+living", 0.85, 0},
	{"don't want to live", "not sure i want to live|be+alive|be+here|keep+living", 0.7, fSelf},
	{"don't want to live", "hope|pray|wish i don't|dont|won't|wont|never wake up", 0.85, fSelf},
	{"don't want to live", "doesn't|doesnt|does+not|didn't|didnt want+to|wanna live|exist|be+alive|be+here+anymore|" +
		"live+anymore|keep+living", 0.85, 0},
	{"can't go on", "don't|dont|do+not think i can keep+living|go+on|carry+on|keep+going|do+this+anymore|take+this", 0.7, fSelf},
	{"don't want to live", "sleep and never wake up", 0.8, 0},
	{"no reason to live", "no|nothing|zero reason|point|reasons to live|living|go+on|keep+going|keep+living", 0.8, 0},
	{"no reason to live", "no|zero point|reason [in|of] living|going+on|carrying+on|being+alive|anything", 0.7, 0},
	{"no reason to live", "nothing|no+one|nobody to live for", 0.85, 0},
	{"no reason to live", "don't|dont|can't|cant|cannot|do+not see the|any point in|of living|going+on|carrying+on|" +
		"being+alive|life|anything|being+here", 0.75, 0},
	{"no reason to live", "what's|whats|what+is the point of|in living|going+on|carrying+on|being+alive|life|" +
		"anything|being+here", 0.7, 0},
	{"no reason to live", "nobody|no+one would [even] notice|care|mind|miss+me [if] i+was+gone|i+were+gone|i+died|" +
		"i+disappeared|i+wasn't+here|i'm+gone|i+was+dead", 0.75, 0},
	{"no reason to live", "not|isn't|isnt|is+not|never worth living", 0.8, 0},
	{"better off dead", "better off dead", 0.9, 0},
	{"better off without me", "better|easier|happier [off] without me", 0.85, fSelf},
	{"better off without me", "better|easier [off] if i [just] was|were|wasn't|weren't gone|dead|not+here|not+around|here|around", 0.85, fSelf},
	{"suicidal", "suicidal|suicidial|sucidal|suicidle", 0.85, fTopic},
	{"suicidal", "suicidal thoughts|feelings|ideation|urges|tendencies", 0.85, fTopic},
	{"suicide", "suicide|sucide|suicde|suiside", 0.75, fTopic},
	{"suicide", "commit|committing|attempt|attempting|consider|considering|contemplating|" +
		"thinking+about|planning suicide", 0.85, 0},
	{"suicide", "attempted|thoughts+of|thought+about suicide", 0.85, fTopic},
	{"suicide", "suicide attempt|attempts|plan|note|letter", 0.85, fTopic},
	{"suicide", "unalive myself|me", 0.9, fSelf},
	{"suicide", "unalive|unaliving", 0.7, fTopic},
	{"suicide", "kms", 0.7, 0},
	{"self-harm", "self harm|harming|harmed|injury|injuring|injure|harmer|mutilation", 0.75, fTopic},
	{"self-harm", "selfharm|selfharming", 0.75, fTopic},
	{"self-harm", "want+to|wanna|going+to|gonna|urge+to|urges+to|need+to|trying+not+to|thinking+about|" +
		"tempted+to|started|starting|started+to|been|keep|relapsed+and hurt|hurting|harm|harming|cut|cutting|burn|burning|punish|punishing|" +
		"starve|starving myself", 0.85, fSelf},
	{"self-harm", "cutting|burning|hurting|harming myself", 0.8, fSelf},
	{"self-harm", "cutting|self+harming|harming again", 0.75, 0},
	{"can't go on", "can't|cant|cannot|can+not go+on|carry+on|keep+going|keep+living|do+this+anymore|" +
		"do+this+any+more|do+it+anymore|take+it+anymore|take+this+anymore|take+it+any+more|" +
		"take+the+pain+anymore|cope+anymore|handle+it+anymore|live+like+this", 0.6, 0},
	{"can't go on", "give|giving|given|gave up on life|living|everything", 0.7, 0},
	{"can't go on", "tired|sick of living|being+alive|life|existing", 0.75, 0},
	{"can't go on", "life is|feels pointless|meaningless|not+worth+it|worthless|hopeless", 0.65, 0},
	{"can't go on", "want+to|wanna sleep|disappear forever", 0.7, 0},
	{"can't go on", "want|wanna|need it|everything|it+all to stop|end forever|for+good|permanently", 0.75, 0},
	{"can't go on", "want|wanna|need it|everything|it+all|the+pain to end|stop", 0.55, 0},
	{"can't go on", "how much longer|long i can keep+going|go+on|do+this|cope|take+this|take+it", 0.6, 0},
	{"goodbye note", "wrote|written|writing|write my|a goodbye|suicide note|letter|letters|notes", 0.8, fSelf},
	{"goodbye note", "goodbye forever|cruel+world", 0.6, 0},
	{"goodbye note", "giving|gave away my things|stuff|belongings", 0.45, fSelf},
	{"hang myself", "hang|hanging|hanged myself|my+self", 0.95, fSelf | fMethod},
	{"shoot myself", "shoot|shooting myself|my+self", 0.95, fSelf | fMethod},
	{"slit my wrists", "slit|slitting|slice|slicing my wrists|wrist|throat", 0.95, fSelf | fMethod},
	{"slit my wrists", "cut|cutting|open my wrists", 0.9, fSelf | fMethod},
	{"jump", "jump|jumping|throw+myself|throwing+myself off|from a|the bridge|building|roof|cliff|balcony|" +
		"tower|car+park|overpass", 0.8, fMethod},
	{"jump", "step|stepping|walk|walking|jump|jumping|throw+myself in+front+of a|the train|bus|truck|lorry|car|traffic", 0.85, fMethod},
	{"overdose", "want+to|wanna|need+to|going+to|gonna|plan+to|planning+to|ready+to|tempted+to|urge+to|" +
		"about+to|try+to|trying+to overdose|od", 0.9, fMethod},
	{"overdose", "thinking|thought about overdosing|overdose", 0.9, fMethod},
	{"overdose", "overdose|od on purpose|deliberately|intentionally", 0.9, fMethod},
	{"overdose", "take|swallow|taking|swallowing all|every+one+of|the+whole+bottle+of my|the pills|tablets|meds|" +
		"medication|insulin|painkillers|sleeping+pills|paracetamol|tylenol at+once|in+one+go", 0.9, fSelf | fMethod},
	{"overdose", "enough pills|tablets|insulin|meds|paracetamol to die|kill+me|end+it|not+wake+up", 0.95, fMethod},
	{"overdose", "pills|tablets|meds|insulin lined+up|counted+out|laid+out", 0.75, fMethod},
	{"overdose", "every|all+the pill|pills|tablet|tablets in the house|cupboard|flat", 0.85, fMethod},
	{"no reason to live", "no|only way out [of+this|of+it] except|but|is death|dying|suicide", 0.8, 0},
	{"no reason to live", "only way out is|would+be death|dying|suicide|to+die", 0.8, 0},
	{"research", "ways|way|methods|how to die|kill+myself|end+my+life|end+it|commit+suicide", 0.85, fMethod},
	{"jump", "thinking|thought about|of jumping|hanging+myself|drowning+myself|overdosing|cutting+myself", 0.8, fMethod},
	{"jump", "going+to|gonna|want+to|wanna|plan+to|planning+to|ready+to jump|jumping off|from", 0.75, fMethod},
}

// suppressPhrases are idioms that contain a crisis phrase or method term and mean nothing of
// the kind. A phrase or term whose last word lies inside one is dropped.
var suppressPhrases = []string{
	"killing|kill myself laughing",
	"cutting myself off|some+slack|a+break|out",
	"to die for",
	"dying to",
	"want+to|wanna die laughing",
	"suicide squad|mission|run|doors|bomber|bombers|bombing",
	"end it with|between",
	"end of my rope|tether",
	"tired of living with",
	"sick of living with",
	"can't|cant|cannot go on holiday|holidays|vacation|the+trip|the+cruise|a+plane|the+plane|the+ride|the+rides",
	"can't|cant|cannot go on without a",
	"give|giving|given|gave up on life+insurance",
	"hurting myself laughing",
	"killing|kill myself trying|to+get|working|over|for",
	"live in fear|dread",
	"keep+going|carrying+on|going+on to|back|there",
	"rather die|be+dead than",
	"die at home|in+peace|peacefully|with+dignity|in+my+sleep",
	"wake up to+a|to+an|to+the|to+my|to+your|to+find|to+see|to+hear|to+news|at|with|early|for",
	"give|giving|gave up on the|my|this|that|trying|it|them|him|her|smoking|sugar|carbs|dairy|work|getting|finding|ever|any",
	"give|giving|gave up my|the|smoking|sugar|carbs|dairy|work|caffeine|alcohol|gluten|meat",
	"stop|stopping fighting with|over|about",
	"stop|stopping trying to|for",
	"stop|stopping living in|with|like|off",
	"pills|tablets|meds|medication|insulin in+the+morning|at+night|with+food|with+breakfast|with+dinner|on+holiday|" +
		"with+me|at+the+same+time|from+now+on|as+prescribed|with+water|each+day|every+day|every+morning|daily|" +
		"in+my+hand+luggage|in+my+bag",
	"hurt|hurting|harm|cut|burn myself cooking|shaving|chopping|at+the+gym|at+work|by+accident|accidentally",
	"disappear for|from|into|off|to|a",
	"die|dye my|her|his|our hair",
	"like i'm|im|i+am drowning",
	"drowning in",
}

// methodTerms are means and quantities. They are reported only beside a crisis finding: in
// the same sentence, or the next or previous one for fNear terms.
var methodTerms = []phraseDef{
	{"overdose", "overdose|overdosing|overdosed|od", 0.95, fNear},
	{"stockpiling", "stockpile|stockpiling|stockpiled|hoarding|hoarded|saving+up|saved+up|stashing|stashed", 0.9, fNear},
	{"pills", "pills|tablets|meds|medication|medications|painkillers|sleeping+pills|paracetamol|acetaminophen|" +
		"tylenol|ibuprofen|opioids|oxycodone|oxy|morphine|fentanyl|codeine|tramadol|antidepressants|sleeping+tablets|" +
		"pregabalin|gabapentin|amitriptyline|nortriptyline|diazepam|zopiclone|quetiapine|lithium|propranolol|" +
		"co-codamol|benzos|methadone", 0.85, fNear},
	{"quantity", "how many|much pills|tablets|units|insulin|paracetamol|would+do+it|it+takes|it+would+take", 0.9, fNear},
	{"research", "researching|researched|looked+up|looking+up|googled|googling|searching|searched|reading+about " +
		"ways|how|methods|the+best+way|the+easiest+way", 0.85, fNear},
	{"insulin", "insulin|all+my+insulin|my+pens|insulin+pens", 0.9, 0},
	{"quantity", "# pills|tablets|units|pens|mg|grams|bottles|packets|boxes", 0.9, fNear},
	{"quantity", "the+whole|a+whole|an+entire bottle|box|packet|pack|supply", 0.9, fNear},
	{"quantity", "all my|of+my|the pills|tablets|meds|insulin|medication|painkillers", 0.9, fNear},
	{"quantity", "handful|handfuls|a+lethal+dose|lethal+dose|lethal|enough+to", 0.9, fNear},
	{"hanging", "rope|noose|hang|hanging|ligature|belt", 0.9, fNear},
	{"firearm", "gun|guns|firearm|pistol|rifle|shotgun|revolver|shoot|bullet", 0.9, fNear},
	{"cutting", "razor|razors|razor+blade|blade|blades|knife|knives|wrist|wrists|scissors", 0.85, fNear},
	{"jumping", "bridge|cliff|rooftop|roof|balcony|jump|jumping|tall+building|high+building|car+park", 0.85, fNear},
	{"traffic", "train|trains|tracks|railway|traffic|motorway|highway", 0.8, 0},
	{"poison", "bleach|poison|antifreeze|weedkiller|pesticide|carbon+monoxide|exhaust|charcoal|engine+running|" +
		"engine+on", 0.9, fNear},
	{"drowning", "drown|drowning|river|lake|sea", 0.75, 0},
	{"plan", "a+plan|the+plan|my+plan|the+date|a+date|a+time|when+everyone", 0.8, 0},
}
