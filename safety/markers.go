package safety

// Marker bits: context words the crisis and adverse-event screens weigh a phrase by. A marker
// phrase sets its bit on the tokens it covers and on its sentence.
const (
	mNeg         uint32 = 1 << iota // not, never, no, without
	mNegOff                         // words after a negator that undo it: "not sure", "not only"
	mFirst                          // I, me, my
	mSecond                         // you, your
	mThird                          // he, she, my friend, my son
	mCond                           // if, whenever, anyone who: hypothetical or general advice
	mSupport                        // hotlines and support: 988, Samaritans, reach out
	mPast                           // history: years ago, used to, survivor
	mCurrent                        // again, tonight, still: undoes mPast
	mJoke                           // lol, haha
	mInfo                           // prevention, awareness, rates: talk about the topic
	mIndication                     // for, to treat: a reaction named as the reason for a product
	mHypo                           // may cause, side effects include, leaflet: not an experience
	mExperience                     // gave me, since starting, I've had: a lived experience
	mImprove                        // better, helped: a benefit (a reaction that went away still counts)
	mDechallenge                    // after stopping, came off: an improvement that still reports
	mFeel                           // feeling, so, really: an implied speaker before "suicidal"
	mSuppressed                     // inside an idiom of suppressPhrases
	mAsk                            // does, can, will: a clause that opens with one asks
	mElse                           // anyone else: a question that tells an experience
	mIfExp                          // if I get, in case you have: a conditional experience
)

// markerPhrases are the context lexicon, shared by all screens.
var markerPhrases = []struct {
	pattern string
	bits    uint32
}{
	{"not|no|never|without|none|nor|neither|zero|don't|dont|didn't|didnt|doesn't|doesnt|won't|wont|" +
		"wouldn't|wouldnt|isn't|isnt|aren't|arent|wasn't|wasnt|weren't|haven't|havent|hasn't|hasnt|hadn't|" +
		"shouldn't|nothing|nobody", mNeg},
	{"no+longer|free+of|not+once|not+any", mNeg},
	{"sure|only|certain|just|to+mention|until|till", mNegOff},

	{"i|i'm|im|i've|ive|i'd|i'll|me|my|myself|mine|i'am", mFirst},
	{"you|your|you're|youre|yourself|u|ur|yours|you've|you'd|y'all|ya", mSecond},
	{"he|she|they|he's|she's|they're|his|her|their|him|them|hes|shes|theyre|himself|herself|themselves", mThird},
	{"friend|friend's|friends|brother|brother's|sister|sister's|mum|mum's|mom|mom's|dad|dad's|father|mother|" +
		"son|son's|daughter|daughter's|husband|husband's|wife|wife's|partner|partner's|boyfriend|girlfriend|" +
		"cousin|uncle|aunt|auntie|grandma|grandpa|grandmother|grandfather|nan|colleague|coworker|" +
		"neighbour|neighbor|child|kid|kids|teen|teenager|someone|somebody|people|patients|person|" +
		"character|celebrity|actor|singer|classmate|student|students|cat|dog|pet|puppy|kitten|phone|laptop|" +
		"computer|printer|pump|sensor|car|niece|nephew|grandad|granddad|stepdad|stepmum|stepmom|teen's|" +
		"someone's|somebody's", mThird},

	{"if|whenever|when|in+case you|u|your|ur|you're|anyone|anybody|someone|somebody|a+friend|they|he|she|" +
		"people|others|a+loved+one", mCond},
	{"anyone|anybody|those|people|someone|somebody|everyone|others who|that", mCond},
	{"for anyone|those|everyone|others|people", mCond},
	{"asked|asks|asking|ask|checked|checks|check|checking [me] if|whether|about", mCond},
	{"worried|worries|assumed|suspected|accused i+was|i'd+been|that+i+was|me+of", mCond},
	{"screening|screens|screened|screen+for|assess|assesses|assessed|questionnaire|survey|form+asks|form+asked", mCond},
	{"feeling|feel|felt|feels|so|very|really|extremely|kinda|kind+of|pretty|quite|bit|getting|been|" +
		"became|become|being|am|was", mFeel},
	{"988|samaritans|lifeline|hotline|helpline|crisis+line|crisis+text+line|crisis+team|text+home|" +
		"reach+out|reached+out|not+alone|here+for+you|talk+to+someone|please+call|please+text|" +
		"116+123|call+111|call+911|call+999|emergency+services|a+&+e|a+and+e", mSupport},
	{"ago|used+to|in+the+past|last+year|back+then|back+in|survivor|survived|recovered|recovery|" +
		"clean+for|anniversary|history+of|as+a+teen|as+a+teenager|when+i+was|in+my+twenties|" +
		"in+my+teens|in+college|at+school|last+winter|last+spring|last+summer|last+autumn|last+fall|" +
		"last+christmas|years+free|months+free|as+a+kid|as+a+child", mPast},
	// Not "every day": "I used to want to die every day" is still history.
	{"again|tonight|today|right+now|still|anymore|any+more|lately|these+days", mCurrent},
	{"an|one|# hour|hours|minute|minutes|mins ago", mCurrent}, // undoes the "ago" inside it
	{"lol|lmao|haha|hahaha|jk|rofl|lmfao|kidding|joking", mJoke},
	{"prevention|awareness|rates|rate|statistics|stats|research|study|studies|article|documentary|" +
		"month|week|training|course|charity|campaign|warning|warnings|risk|side+effect|side+effects|" +
		"leaflet|label|podcast|book|show|film|movie|episode|news|scene|scenes|storyline|plot|series|memoir|" +
		"lecture|exam|exams|studying|homework|textbook|module|pharmacology|class|educator|educators|covered|" +
		"explained|explains|workshop|workshops", mInfo},

	{"for|treat|treats|treated|treating|treatment|prevent|prevents|preventing|against|manage|manages|" +
		"managing|control|controls|controlling|relieve|relieves|relief|help|helps|helped|helping|" +
		"ease|eases|reduce|reduces|reduced|lessen|cure|cures|calm", mIndication},
	{"may+cause|can+cause|could+cause|might+cause|can+give|may+give|could+give|might+give|" +
		"side+effects+include|side+effects+are|known+to|linked+to|associated+with|leaflet|label|" +
		"warns|warning|possible|possibly|risk+of|chance+of|rare|common+side+effects|listed|" +
		"if+you+get|if+you+have|if+you+experience|worried+about|scared+of|afraid+of|in+case|includes|include|" +
		"including|lists", mHypo},
	{"gave+me|giving+me|given+me|gives+me|made+me|makes+me|making+me|left+me|i+got|i've+got|i+get|" +
		"i've+had|ive+had|i+had|i'm+having|im+having|i've+been+having|been+having|i+have|i+keep+getting|" +
		"i+developed|i've+developed|i+noticed|i've+noticed|broke+out|woke+up+with|since+starting|" +
		"since+i+started|since+taking|since+switching|after+starting|after+taking|after+my|after+the|" +
		"started+taking|started+on|on+it|caused+me|causing+me|causes+me|anyone+else|else+get|" +
		"ended+up|suffering|experiencing|has+me|have+me|had+me|got+me|i'm+getting|im+getting|getting|got|had|have+had|has+had|" +
		"every+time+i|whenever+i|each+time+i|went+on|put+on|switched+to|came+up", mExperience},
	{"better|improved|improving|improvement|helped|helps|helping|fixed|less|fewer", mImprove},
	{"does|do|did|can|could|will|would|should|is|are|was|were|has|have|what|which|how|why|when|whats|what's|any|anyone", mAsk},
	{"anyone|anybody|everyone|someone|who else|too", mElse},
	{"if|in+case|whenever|once i|you|u|we|they get|have|develop|notice|start|experience|feel|see|had|got|getting|having", mIfExp},
	{"after+stopping|since+stopping|when+i+stopped|stopped+taking|came+off|coming+off|quit|" +
		"stopped+the|stopped+my|off+it|i+stopped|since+i+stopped|after+i+stopped|once+i+stopped|" +
		"stopped+it|stopped+them|stop+it|stopping+it|took+me+off|taken+off|switched+me", mDechallenge},
}
