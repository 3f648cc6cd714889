package safety

// indirectPhrases extend crisisPhrases with the indirect ways members say it: the passive
// wish not to wake up or be here, being a burden, finality and farewells, the loss of any
// reason or will to go on, self-harm slang, and acts that name a means. They are weighed
// exactly like crisisPhrases (crisis.go); a phrase flagged fEnd counts only where it ends
// its clause ("I just want out", not "I just want out of this job").
//
// Weights are lower than for explicit phrases where the words have ordinary meanings too
// ("what's the point anymore"), so that context (history, advice, a third party) takes them
// below the reporting threshold more easily.
var indirectPhrases = []phraseDef{
	// The passive wish not to be here or not to wake up.
	{"don't want to live", "asleep|sleep and never|not wake up|wake+up+again", 0.8, 0},
	{"don't want to live", "rather not be here|be+alive|be+around|exist|wake+up", 0.7, 0},
	{"don't want to live", "don't|dont|do+not think i'll|i+will|i'm+going+to be+here|be+around|make+it next+week|" +
		"much+longer|for+long|by+morning|tomorrow|this+time+next+week", 0.8, fSelf},
	{"don't want to live", "not going+to|gonna be here|around much+longer|for+long|next+week|by+morning", 0.7, 0},
	{"don't want to live", "wish i hadn't|hadnt|had+not|didn't|didnt survived|survive|woken+up|wake+up|been+saved|" +
		"been+found|made+it", 0.85, fSelf},
	{"don't want to live", "want+to|wanna|need+to|just+want+to not exist|stop+existing|be+gone|vanish", 0.8, 0},
	{"don't want to live", "want|wanna out", 0.65, fEnd},
	{"don't want to live", "want|wanna out permanently|for+good|forever|of+life|of+this+life|of+living", 0.8, 0},
	// No reason, will or point.
	{"no reason to live", "no|lost+the|lost+my|losing+the|losing+my|zero will|desire|wish to live|to+go+on|" +
		"to+keep+going|to+keep+fighting|to+carry+on", 0.8, 0},
	{"no reason to live", "can't|cant|cannot|couldn't think+of|find|see a|any|one reason not+to|to+stay|to+live|" +
		"to+keep+going|to+stay+alive|to+be+here", 0.75, 0},
	{"no reason to live", "why bother living|going+on|staying+alive|carrying+on|being+alive|waking+up", 0.75, 0},
	{"no reason to live", "what's|whats|what+is the point anymore|any+more", 0.6, fEnd},
	{"no reason to live", "life has|holds no meaning|point|purpose", 0.65, 0},
	{"no reason to live", "nothing|no+one|nobody left to live for|for+me", 0.75, 0},
	// Tired of, done with, had enough of life.
	{"can't go on", "had enough of living|life|being+alive|existing|everything", 0.7, 0},
	{"can't go on", "done with life|living|being+alive|existing", 0.7, 0},
	{"can't go on", "done with it+all|everything|everyone", 0.45, 0},
	{"can't go on", "can't|cant|cannot fight anymore|any+more|any+longer", 0.6, 0},
	{"can't go on", "can't|cant|cannot fight this|it anymore|any+more|any+longer", 0.6, 0},
	{"can't go on", "make it+all|everything|all+of+it|the+world stop|end", 0.7, 0},
	{"can't go on", "done trying|fighting to stay+alive|live|keep+going|go+on", 0.8, 0},
	{"can't go on", "can't|cant|cannot keep myself safe", 0.85, fSelf},
	{"can't go on", "don't|dont|do+not trust myself tonight|right+now|anymore|any+more|alone|at+the+moment", 0.7, fSelf},
	{"can't go on", "not safe from|around myself", 0.75, fSelf},
	{"don't want to live", "wish it|the+accident|the+crash|the+cancer|the+dka|the+overdose|the+attempt had|" +
		"would+have|would've killed|taken|finished me", 0.8, fSelf},
	{"can't go on", "deserve to die|be+dead|suffer+and+die", 0.8, 0},
	// Being a burden, others better off.
	{"better off without me", "i'm|im|i+am|feel+like|i+feel+like a burden|drain|waste+of+space", 0.45, fSelf},
	{"better off without me", "burden to|on everyone|everybody|my+family|my+husband|my+wife|my+kids|my+partner|" +
		"my+parents|the+world", 0.7, 0},
	{"better off without me", "better|easier|happier|relieved [off] [for+everyone] [for+them] if i [just] was+gone|" +
		"were+gone|was+dead|were+dead|wasn't+here|weren't+here|wasn't+around|weren't+around|disappeared|died|" +
		"vanished|didn't+exist|wasnt+here|was+not+here", 0.85, fSelf},
	{"better off without me", "manage|cope|do fine|better without me", 0.75, fSelf},
	{"better off without me", "better off without a|their sick|broken|useless mum|mom|dad|mother|father|wife|" +
		"husband|parent|partner|daughter|son", 0.75, 0},
	// Finality and farewells.
	{"goodbye note", "tonight+is|tonight's|tonights the night", 0.75, 0},
	{"goodbye note", "said|saying|say my goodbyes|goodbye+to+everyone", 0.7, fSelf},
	{"goodbye note", "wrote|written|writing|left|leaving my note|notes", 0.7, fSelf},
	{"end my life", "ending|end everything", 0.75, 0},
	{"end my life", "close to ending|end it|it+all|things|my+life", 0.8, 0},
	{"end my life", "should|could|might|will|i'll [just] end it|it+all|things", 0.75, 0},
	{"end my life", "end|ending it", 0.7, fEnd | fSelf},
	{"end my life", "find|try another way", 0.6, fEnd},
	{"end my life", "thoughts|thinking|thought about|of ending+things|ending+it|ending+my+life|ending+everything|" +
		"taking+my+life|taking+my+own+life|killing+myself|not+being+here", 0.8, 0},
	{"end my life", "not|never coming back", 0.55, fEnd},
	// Self-harm: acts, urges, slang.
	{"self-harm", "hurt|hurting|harmed|cut|burned|burnt|scratched myself again|tonight|last+night|today|" +
		"this+morning|deeper|on+purpose|to+feel", 0.85, fSelf},
	{"self-harm", "cut|burned|burnt|hurt myself with a|my razor|blade|knife|lighter|scissors|compass|straighteners|" +
		"glass", 0.85, fSelf},
	{"self-harm", "urge|urges to cut|self+harm|hurt+myself|harm+myself|burn+myself", 0.8, 0},
	{"self-harm", "sh|sh'd|sh'ed again|tonight|relapse|relapsed", 0.75, 0},
	{"self-harm", "relapsed on|with sh|self+harm|cutting", 0.8, 0},
	// Acts that name a means: a recent attempt or a question about a deadly amount.
	{"overdose", "took|taken|swallowed|swallow|take a|the handful|lot|load of [my|her|his|the] pills|tablets|meds|" +
		"painkillers|insulin", 0.85, fMethod},
	{"overdose", "take|took|swallow|swallowed|use|using all of my|the pills|tablets|meds|insulin|morphine|" +
		"painkillers|oxy|medication", 0.8, fSelf | fMethod},
	{"overdose", "take|taking|swallow|use|using them|it all at once|in+one+go|together", 0.8, fMethod},
	{"overdose", "lethal|fatal|deadly dose|amount|overdose of", 0.65, fMethod},
	{"overdose", "not|stop|stopped taking my insulin and|until letting|let|dying|i+die", 0.8, fSelf | fMethod},
	{"poison", "garage with|and the engine running|on", 0.8, fMethod},
	{"drowning", "walk|walking|walked into the sea|river|lake|ocean|water", 0.7, fMethod},
	{"jump", "step|stepping|walk|walking|jump in front", 0.7, fMethod | fEnd},
	{"kill myself", "hang|hanging|hanged himself|herself|themselves", 0.85, fMethod},
	{"research", "painless|easy|easiest|quick|quickest|peaceful|best way|ways to die|end+it|kill+myself|do+it", 0.8, fMethod},
	{"research", "painless|easy|easiest|quick|quickest|peaceful|best way|ways to go", 0.8, fMethod | fEnd},
	// Other indirect ways. Weights below 0.5 are weak signals: reported only together.
	{"overdose", "took|taken|swallowed everything|all|the+lot in the medicine+cabinet|cupboard|drawer|house", 0.85, fMethod},
	{"can't go on", "want|wanna|need it|it+all|everything|this to be over", 0.45, 0},
	{"can't go on", "not going+to|gonna make it through the+night|tonight", 0.45, 0},
	{"can't go on", "and|i don't|dont want to", 0.4, fEnd},
	{"can't go on", "don't|dont want to go home|be+saved|get+better", 0.4, fSelf},
	{"can't go on", "done fighting|trying", 0.6, fEnd},
	{"goodbye note", "written|wrote|writing the|my letters|notes", 0.45, 0},
	{"goodbye note", "giving|gave|given my things|stuff|belongings away", 0.45, 0},
	{"self-harm", "cut|cutting deeper|too+deep|deep", 0.75, 0},
	{"better off without me", "everyone|everybody|they|family would be better off", 0.75, fEnd},
	{"better off without me", "i'm|im|i+am the problem", 0.4, 0},
	{"better off without me", "if i wasn't|weren't|was+not in+the+picture|here|around|alive", 0.45, 0},
	{"no reason to live", "everything|it+all|it|life feels|is|seems pointless|hopeless|meaningless", 0.45, 0},
	{"no reason to live", "no way out", 0.45, 0},
	{"no reason to live", "nothing left", 0.4, fEnd},
	{"no reason to live", "can't|cant keep pretending", 0.4, 0},
	{"can't go on", "hate|hating being alive|existing|living", 0.75, 0},
	{"can't go on", "hate my life", 0.45, 0},
	{"can't go on", "how easy it would be", 0.4, 0},
	{"don't want to live", "don't|dont|can't|cant|cannot see myself being+here|being+alive|being+around|still+here|" +
		"alive|making+it next+year|much+longer|by+christmas|for+long", 0.7, fSelf},
	{"overdose", "give|giving|take|taking myself a massive|huge|giant|lethal|fatal bolus|dose|overdose", 0.8,
		fAct | fPlan | fMethod},
	{"don't want to live", "don't|dont|do+not want to be rescued|saved|found|resuscitated|revived", 0.7, 0},
	{"can't go on", "i'm|im|i+am done", 0.4, fEnd},
	{"can't go on", "nothing left to try|to+live+for|to+give", 0.4, 0},
	{"want to die", "thinking|think|thought a+lot|so+much|constantly|all+the+time|lately about|of dying|death", 0.65, 0},
	{"want to die", "dying|death doesn't|doesnt|does+not|no+longer scare|scares|frighten me", 0.45, 0},
	{"want to die", "feels|would+feel|would+be like a relief", 0.4, 0},
	{"no reason to live", "what's|whats|what+is the point of any+of+it|it+all|anything", 0.6, 0},
	{"overdose", "enough [of] [my] " + drugWords + " to make+it+stop|make+it+all+stop|end+it|end+it+all|" +
		"end+everything|kill+me|die|not+wake+up", 0.8, fMethod},
	{"self-harm", "cut|burned|burnt again", 0.7, fSelf},
	{"don't want to live", "wouldn't|wouldnt|won't|wont|don't|dont care if i didn't|didnt|don't|never wake up|" +
		"died|die|wasn't+here", 0.8, fSelf},
	{"can't go on", "can't|cant|cannot|don't+think+i+can survive|face|get+through another|this", 0.4, 0},
	{"can't go on", "scared|afraid|terrified of living|being+alive|existing", 0.6, 0},
	{"can't go on", "exhausted|tired|sick from|of fighting|trying to stay+alive|live|keep+going", 0.7, 0},
	{"goodbye note", "goodbye|goodbye+everyone|goodbye+all|bye+everyone|farewell|farewell+everyone", 0.4, fEnd},
	{"can't go on", "i've|ive|i+have had it|enough", 0.4, fEnd},
	{"don't want to live", "don't|dont|do+not want+to|wanna do+this+anymore|do+this+any+more|go+on|keep+going|" +
		"fight+anymore|exist+anymore|keep+fighting", 0.8, 0},
	{"can't go on", "talk me out of it|doing+it|this", 0.75, fSelf},
	{"can't go on", "what i might|could|will|would do to myself", 0.75, 0},
	{"can't go on", "might|could do something to myself", 0.75, 0},
	{"can't go on", "no fight left|left+in+me", 0.7, 0},
	{"can't go on", "ready|want|need for it|it+all|everything to be over|end", 0.7, 0},
	{"can't go on", "the only thing|reason stopping+me|keeping+me+alive|keeping+me+here", 0.7, 0},
	{"better off without me", "doing|do everyone|everybody|them|the+world a favour|favor", 0.6, 0},
	{"want to die", "dying|death|being+dead would be|would+feel+like|feels+like a relief|a+release|a+blessing|" +
		"easier|a+mercy", 0.75, 0},
	{"goodbye note", "goodbye message|text|note|letter|post|video|voicemail|messages|texts|notes|letters|posts", 0.75, 0},
	{"goodbye note", "this will+be|is|be my last post|message|night|birthday|christmas|goodbye", 0.7, fEnd},
	{"want to die", "waiting|waiting+around to die|for+death|for+the+end", 0.7, 0},
	{"end my life", "so|so+that|and+then it|it+all|everything ends|will+end|would+end|is+over|can+end|stops", 0.7, 0},
	{"end my life", "make it|everything|it+all stop|end for+good|forever|permanently", 0.8, 0},
	{"end my life", "why not|might+as+well|may+as+well speed it|things|the+process up", 0.7, 0},
	{"end my life", "why not|might+as+well|may+as+well hurry+it+up|get+it+over+with|end+it+now|end+it", 0.7, 0},
	{"end my life", "planned|worked+out|figured+out|know|decided how|when|where i'd|i'll|i+will|i'm+going+to|i+would do+it|end+it", 0.75, fSelf},
	{"can't go on", "not strong enough to keep+living|go+on|carry+on|keep+going|keep+fighting|live+like+this", 0.75, 0},
	{"overdose", "enough to die|not+wake+up|never+wake+up|kill+me|end+it|end+my+life", 0.75, fMethod},
	{"overdose", "plan and the means|means", 0.85, fMethod},
	{"overdose", "have|got the means", 0.7, fMethod | fSelf},
	{"self-harm", "burned|burnt|cut|scratched|scalded|carved|hit|punched|bit my|into+my arm|arms|wrist|wrists|" +
		"thigh|thighs|legs|leg|skin|stomach|hand|hands", 0.8, fSelf | fHarmCtx},
	{"self-harm", "cuts again|fresh+cuts|new+cuts", 0.7, 0},
	{"self-harm", "wanted|want|needed|need it to hurt|to+bleed", 0.7, 0},
	{"self-harm", "self harms", 0.75, fTopic},
	{"check out", "check|checking out for+good|permanently|early|of+life", 0.8, 0},
}

// drugWords are the pills, drugs and insulin a means phrase may name.
const drugWords = "pills|pill|tablets|tablet|meds|medication|painkillers|insulin|units|paracetamol|tylenol|" +
	"ibuprofen|aspirin|opioids|oxycodone|oxy|morphine|codeine|co-codamol|tramadol|pregabalin|lyrica|" +
	"gabapentin|amitriptyline|sertraline|citalopram|diazepam|valium|zopiclone|quetiapine|seroquel|lithium|" +
	"propranolol|antidepressants|benzos|methadone|sleeping+pills|sleeping+tablets|prescription|stash|stockpile"

// actPhrases are acts that count only after a wish or an intent within actWindow words in
// the sentence (crisis.go, desire): "I want to ... stay asleep", "telling me to drive into
// traffic". fPlan acts also count after a plan ("I'm going to take every pill"); the rest
// need a wish, so "I thought I was going to die" is no crisis.
var actPhrases = []phraseDef{
	{"want to die", "die|be+dead|not+exist|not+be+alive|stop+existing|be+gone|not+be+here|" +
		"stay+asleep|sleep+forever|never+wake+up|not+wake+up|let+it+take+me|not+be+around|never+have+to+wake+up|" +
		"not+have+to+wake+up|go+to+sleep+and+never+wake+up|go+to+sleep+and+not+wake+up", 0.8, fAct},
	{"want to die", "disappear|vanish", 0.75, fAct | fEnd},
	{"want to die", "disappear|vanish forever|for+good|permanently|completely|and+never+come+back", 0.8, fAct},
	{"self-harm", "use|turn it on myself|on+me", 0.8, fAct | fSelf},
	{"want to die", "let|letting go", 0.7, fAct | fEnd},
	{"end my life", "end|ending it|things|everything|it+all|my+life|myself|this+for+good|this+forever|" +
		"this+permanently", 0.8, fAct | fPlan},
	{"jump", "jump", 0.8, fAct | fEnd | fMethod},
	{"better off without me", "stop|stopping being a+burden|here|alive", 0.7, fAct | fPlan},
	{"kill myself", "kill|hurt|harm|cut|burn|starve|punish|hit|punch myself", 0.85, fAct | fPlan | fSelf},
	{"self-harm", "keep|started|been|kept hitting|punching|scratching|biting|burning myself", 0.8, fSelf},
	{"can't go on", "give|giving up|in", 0.65, fAct | fEnd},
	{"can't go on", "give|giving up and|on life|on+living|on+everything|for+good", 0.75, fAct},
	{"can't go on", "stop|stopping fighting|trying|living|breathing", 0.75, fAct | fPlan},
	{"overdose", "take|taking|swallow|swallowing|use|using all+my|all+of+my|all+the|all+of+the|all+these|all|" +
		"every|every+one+of+my|the+whole|the+lot+of+my|the+lot+of|each+of+my " + drugWords, 0.85, fAct | fPlan | fMethod},
	{"overdose", "take|taking|swallow|swallowing all+her|all+his|all+their|all+of+her|all+of+his " + drugWords, 0.85,
		fAct | fPlan | fMethod},
	{"jump", "jump+off|jump+from|jumping+off|jumping+from|throw+myself+off|throwing+myself+off|" +
		"driving+into|driving+off|crashing+the+car|crashing+my+car|stepping+in+front|walking+into+traffic|" +
		"walking+into+the+sea|hanging+myself|drowning+myself|shooting+myself|overdosing|jump+in+front|" +
		"jumping+in+front|throw+myself+in+front|throwing+myself+in+front", 0.85, fAct | fPlan | fMethod},
	{"jump", "throw+myself+off|throw+myself+in+front|drive+into|drive+off|crash+the+car|" +
		"crash+my+car|step+in+front|walk+into+traffic|walk+into+the+sea|hang+myself|drown+myself|" +
		"shoot+myself|overdose|od", 0.85, fAct | fPlan | fMethod},
}

// meansTerms extend methodTerms with means that, with an intent in the same or a next
// sentence ("tonight", "I'm going to", "should be enough"), are a crisis finding on their own
// even without an ideation phrase (crisis_means.go): a stockpile, pills set out or ready.
var meansTerms = []phraseDef{
	{"stockpiling", "stockpile|stockpiling|stockpiled|hoarding|hoarded|stashing|stashed|stash|saving|saved|" +
		"saving+up|saved+up|collecting|collected|hiding|hid|squirrelling|squirreling|keeping|kept my|of|up", 0.9,
		fNear | fMeans | fNeedsDrug | fStock},
	{"stockpiling", "stockpile|stash|hoard|supply of [my] pills|tablets|meds|insulin", 0.9, fNear | fMeans},
	{"stockpiling", "# months|weeks|days of [my] pills|tablets|meds|insulin|oxy|painkillers|morphine saved|" +
		"stashed|put+aside|hidden", 0.9, fNear | fMeans},
	{"pills", "have|got|bought the|my|a+bottle+of|a+box+of pills|tablets|meds|stash", 0.85, fNear | fMeans | fQuiet},
	{"hanging", "have|got|bought the|my|a rope|noose", 0.85, fNear | fMeans | fQuiet},
	{"firearm", "have|got|bought the|my|a gun", 0.85, fNear | fMeans | fQuiet},
	{"stockpiling", "hidden+away|hid+away|stashed+away|put+away|put+aside|set+aside|squirrelled+away|hidden|hid " +
		"a+load+of|some+of|loads+of|a+stash+of|my|a+bunch+of|all+my", 0.9, fNear | fMeans | fNeedsDrug | fStock},
	{"pills", "pills|tablets|meds|insulin|rope|gun|everything ready|lined+up|sorted|counted|in+front+of+me", 0.85, fNear | fMeans},
	{"pills", "counted|counting|counted+out|counting+out|lined+up all my|the|my pills|tablets|meds", 0.85, fNear | fMeans},
}
