"""The everyday words patients use for each fact of the triage policy, as compiled patterns.

Patterns run on the folded message (lower case, plain apostrophes and dashes). An apostrophe in a
pattern is optional in the message ("cant", "dont"). Each entry names the fact value it supports; the
reader in ``text.py`` decides, per match, whether negation or context cancels it.
"""

from __future__ import annotations

from routing.domain.triage.text_scope import lexicon, rx, starts, words

# --- shared vocabulary -------------------------------------------------------------------------------

RELAXANT_NAMES = (
    "cyclobenzaprine",
    "flexeril",
    "amrix",
    "fexmid",
    "tizanidine",
    "zanaflex",
    "baclofen",
    "lioresal",
    "methocarbamol",
    "robaxin",
    "carisoprodol",
    "soma",
    "metaxalone",
    "skelaxin",
)
RELAXANT = (
    r"\bmuscle[- ]?relax\w*(?:\s+(?:meds?|medications?|medicines?|pills?|tablets?|drugs?))?"
    r"|\brelax(?:ants?|ers?)\b|" + words(*RELAXANT_NAMES)
)
_CANT = (
    r"(?:can't|cannot|can\s+not|couldn't|could\s+not|unable\s+to|not\s+able\s+to|no\s+longer\s+able\s+to"
    r"|can\s+no\s+longer|(?:have|has)n't\s+been\s+able\s+to|(?:have|has)\s+not\s+been\s+able\s+to)"
)
_TROUBLE = (
    r"(?:"
    + _CANT
    + r"|trouble|difficulty|difficulties|a\s+hard\s+time|hard\s+to|struggl\w*(?:\s+to)?|problems?|issues?)"
)
_POSS = r"(?:(?:my|the|his|her)\s+)?"

# --- red flags ---------------------------------------------------------------------------------------

_BLADDER_THINGS = r"(?:bladder|bowels?|urine|pee|wee|stools?|poo|poop|water|urination|peeing)"
BLADDER_BOWEL = lexicon(
    _TROUBLE
    + r"\s+(?:\w+\s+)?(?:pass(?:ing)?|control(?:ling)?|hold(?:ing)?|empty(?:ing)?|start(?:ing)?)\s+(?:in\s+)?"
    + _POSS
    + _BLADDER_THINGS
    + r"\b",
    _TROUBLE + r"\s+(?:\w+\s+){0,2}?(?:pee|peeing|urinat\w*|wee|weeing|poo|pooing|poop|pooping|pass\s+urine"
    r"|have\s+a\s+bowel\s+movement|go\s+to\s+the\s+(?:toilet|bathroom|loo))\b",
    r"\b(?:lost|losing|loss\s+of|lose|no|lack\s+of|poor|zero)\s+(?:\w+\s+)?control\s+(?:of|over)\s+"
    + _POSS
    + _BLADDER_THINGS
    + r"\b",
    r"\b(?:lost|losing|loss\s+of|lose|no|poor)\s+(?:my\s+)?(?:bladder|bowel|urinary)\s+control\b",
    r"\b(?:bladder|bowel|urinary|fa?ecal|stool|urine)s?\s+(?:(?:or|and|/)\s*(?:bladder|bowel)s?\s+)?"
    r"(?:incontinence|retention|problems?|issues?|trouble|troubles|dysfunction|accidents?|leak\w*|changes?"
    r"|symptoms?|difficult\w*|control\s+(?:problems?|issues?|loss))\b",
    r"\b(?:problems?|trouble|issues?|difficult\w*|changes?)\s+(?:with|in|controlling)\s+"
    + _POSS
    + r"(?:bladder|bowels?|urination|peeing|urine|stools?)\b",
    r"\bincontinen\w*",
    r"\b(?:wet|wetting|wets|peed|peeing|pissed|pissing|soiled|soiling|pooped|pooping|pooed)\s+(?:myself|my\s*self"
    r"|my\s+(?:pants|trousers|underwear|bed)|the\s+bed)\b",
    r"\bbed[- ]?wetting\b",
    r"\bleak\w*\s+(?:urine|pee|stool|poo)\b",
    r"\b(?:can't|cannot|couldn't|don't|do\s+not)\s+(?:feel|tell|sense)\s+when\s+(?:i\s+)?(?:need|have|want)\s+to"
    r"\s+(?:pee|urinate|go|poo|wee)\b",
    gate=starts(
        "bladder",
        "bowel",
        "urine",
        "pee",
        "wee",
        "stool",
        "poo",
        "water",
        "incontinent",
        "wet",
        "soiled",
        "piss",
        "leak",
        "toilet",
        "bathroom",
        "loo",
        "fecal",
        "faecal",
        "bed",
        "feel",
        "tell",
        "sense",
    ),
)

_SADDLE_AREA = (
    r"(?:groin|crotch|genitals?|genital\s+area|private\s+(?:parts|area|region)|privates|buttocks?|butt|bum"
    r"|bottom|backside|anus|rectum|rectal\s+area|perineum|perineal\s+area|saddle(?:\s+(?:area|region))?"
    r"|inner\s+thighs?|between\s+(?:my|the)\s+legs|vagina|vaginal\s+area|penis|scrotum|testicles|labia)\b"
)
_NUMB = (
    r"(?:numb\w*|tingl\w*|pins\s+and\s+needles|no\s+(?:feeling|sensation)|loss\s+of\s+(?:feeling|sensation)"
    r"|lost\s+(?:all\s+)?(?:feeling|sensation)|(?:reduced|decreased|less)\s+(?:feeling|sensation)"
    r"|(?:can't|cannot|can\s+not|couldn't)\s+feel|dead\s+feeling)"
)
SADDLE = lexicon(
    r"\b" + _NUMB + r"\s+(?:\w+\s+){0,3}?(?:(?:in|around|of|on|across|over|at|near|down)\s+)?"
    r"(?:(?:my|the|both|his|her)\s+)?(?:\w+\s+)?" + _SADDLE_AREA,
    r"\b" + _SADDLE_AREA + r"\s+(?:(?:area|region)\s+)?(?:is|are|feels?|felt|went|goes|has\s+gone|have\s+gone"
    r"|has\s+been|have\s+been|became|becoming|getting|keeps\s+going|now)\s+(?:\w+\s+)?(?:numb|tingly|dead)\b",
    r"\bsaddle\s+(?:numbness|an(?:a)?esthesia|area\s+numbness)\b",
    r"\b(?:can't|cannot|can\s+not|couldn't|don't|do\s+not|unable\s+to|not\s+able\s+to)\s+(?:really\s+)?feel"
    r"\s+(?:\w+\s+){0,3}?(?:when|while|as)\s+(?:i\s+)?wip\w*",
    r"\b(?:numb|no\s+feeling|nothing|feel\s+nothing)\s+(?:\w+\s+){0,2}?(?:when|while)\s+(?:i\s+)?wip\w*",
    r"\b(?:can't|cannot|can\s+not|couldn't)\s+feel\s+(?:the\s+)?toilet\s+paper\b",
    gate=starts("numb", "tingling", "pins", "feeling", "sensation", "dead", "saddle", "wipe", "toilet"),
)

_LEG_PARTS = r"(?:legs?|knees?|foot|feet|ankles?)"
LEG_WEAKNESS = lexicon(
    r"\b(?:legs?|knees?)\s+(?:\w+\s+){0,2}?(?:giv\w+|gave|give)\s+(?:way|out)\b",
    r"\b(?:legs?|knees?)\s+(?:\w+\s+){0,2}?(?:buckl\w+|collaps\w+)",
    r"\b" + _LEG_PARTS + r"\s+(?:\w+\s+){0,2}?(?:weak\w*|like\s+jelly|like\s+jello)",
    r"\bweak\w*\s+(?:in|of)\s+(?:(?:my|the|both|one|his|her)\s+)?(?:(?:left|right|lower)\s+)?"
    r"(?:legs?|foot|feet|knees?|ankles?|toes?|thighs?|calf|calves)\b",
    r"\bweak\s+(?:(?:left|right)\s+)?(?:legs?|foot|feet|ankles?|knees?)\b",
    r"\b(?:leg|foot|ankle|knee)\s+weakness\b",
    r"\b(?:foot\s*drop|drop\s*foot|dropfoot)\b",
    r"\b(?:foot|feet|toes?|leg)\s+(?:\w+\s+)?(?:drags?|dragging|slaps?|slapping)\b",
    r"\bdrag\w*\s+(?:my\s+)?(?:(?:left|right)\s+)?(?:foot|leg|feet|legs)\b",
    _CANT + r"\s+(?:\w+\s+)?(?:lift|raise|move|flex|bend|feel)\s+(?:my\s+)?(?:(?:left|right)\s+)?"
    r"(?:foot|feet|toes|ankles?|legs?)\b",
    _CANT + r"\s+(?:stand|walk)\s+on\s+(?:my\s+)?(?:toes|heels|tip\s*toes|tiptoes)\b",
    r"\b(?:new|sudden|increasing|progressive|worsening)\s+weakness\b",
    r"\b(?:losing|lost|loss\s+of)\s+(?:\w+\s+)?strength\s+in\s+(?:my\s+)?(?:\w+\s+)?(?:legs?|foot|feet)\b",
    r"\blegs?\s+(?:won't|wouldn't|don't|didn't|can't)\s+(?:hold|support|carry)\s+me\b",
    gate=starts("leg", "knee", "foot", "feet", "ankle", "weak", "drop", "toes", "drag", "heels", "tiptoes", "strength"),
)

# Pain, numbness or tingling reaching a leg. One leg is radiating pain; both legs is a red flag.
_LEG_SYMPTOM = (
    r"(?:numb\w*|tingl\w*|pins\s+and\s+needles|pain\w*|shoot\w*|burn\w*|radiat\w*|sciatica|sciatic|ach(?:e|es|ing)"
    r"|hurt\w*|sore\w*|electric\w*|zing\w*|cramp\w*|spread\w*|travel\w*|goes|going|went|runs|running|moves|extends"
    r"|dead|asleep|(?:can't|cannot)\s+feel|stabb\w*|throb\w*)"
)
_INTO = r"(?:down|into|in|through|to|along|behind|across|on|at)"
_BOTH_LEGS = (
    r"(?:(?:both|my\s+two|each|either|two)\s+(?:of\s+(?:my|the)\s+)?(?:legs?|feet|thighs|calves|lower\s+legs)"
    r"|(?:left\s+and\s+right|right\s+and\s+left)\s+(?:legs?|feet|thighs|sides)"
    r"|(?:my|the)\s+(?:(?:back|buttocks|bum|hips|lower\s+back)\s+and\s+)?(?:legs|feet|thighs|calves)"
    r"|legs|feet)\b"
)
BILATERAL = lexicon(
    r"\b"
    + _LEG_SYMPTOM
    + r"\s+(?:[\w/]+\s+){0,4}?"
    + _INTO
    + r"\s+(?:the\s+(?:back|backs|fronts?|sides?)\s+of\s+)?"
    + _BOTH_LEGS,
    r"\b(?:both|my\s+two)\s+(?:of\s+my\s+)?(?:legs|feet|thighs|calves)\s+(?:\w+\s+){0,3}?" + _LEG_SYMPTOM,
    r"\b(?:legs|feet|thighs|calves)\s+(?:are\s+|feel\s+|have\s+been\s+|keep\s+|go\s+|went\s+|get\s+"
    r"|getting\s+|both\s+|also\s+|now\s+)*(?:numb\w*|tingl\w*|hurt\w*|ach(?:e|ing)|sore|burning|asleep|dead)\b",
    r"\b(?:numb|tingly)\s+(?:legs|feet)\b",
    r"\bbilateral\s+(?:leg\s+|lower\s+extremit\w+\s+)?(?:pain|sciatica|radicul\w+|numbness|tingling|symptoms|leg\w*)\b",
    r"\b(?:sciatica|shooting\s+pain|leg\s+pain|numbness|tingling)\s+(?:on|in|down)\s+both\s+sides\b",
    r"\bboth\s+sides\s+(?:\w+\s+){0,3}?(?:legs?|sciatica)\b",
    r"\b(?:numbness|tingling|pain)\s+in\s+(?:my\s+)?(?:legs|feet)\b",
    gate=starts("leg", "feet", "thigh", "calves", "bilateral", "sides", "both"),
)
_ONE_LEG = r"(?:(?:my|the|one|his|her|a)\s+)?(?:(?:left|right|l|r)\s+)?(?:leg|thigh|calf|shin|hamstring)\b(?!s)"
_ONE_FOOT = r"(?:(?:my|the|one|his|her|a)\s+)?(?:(?:left|right|l|r)\s+)?(?:foot|ankle|toes|big\s+toe)\b"
RADIATING = lexicon(
    r"\bsciatica\b|\bsciatic\s+(?:nerve|pain)\b|\bradicul\w+",
    r"\b"
    + _LEG_SYMPTOM
    + r"\s+(?:[\w/]+\s+){0,4}?"
    + _INTO
    + r"\s+(?:the\s+(?:back|front|side|outside|inside)\s+of\s+)?"
    + _ONE_LEG,
    r"\b(?:numb\w*|tingl\w*|pins\s+and\s+needles|shoot\w*|radiat\w*|burn\w*|electric\w*)\s+(?:[\w/]+\s+){0,4}?"
    + _INTO
    + r"\s+"
    + _ONE_FOOT,
    r"\b(?:shoot\w*|radiat\w*|goes|going|runs|running|travels?|travell?ing|spread\w*|extends?|extending)\s+"
    r"(?:\w+\s+){0,3}?(?:down|to|into|past|below)\s+(?:my\s+|the\s+)?(?:(?:left|right)\s+)?knee\b",
    r"\b(?:(?:left|right|one)\s+)?(?:leg|thigh|calf)\s+(?:pain|numbness|tingling|symptoms|ache|aching|cramps?)\b",
    r"\b(?:(?:left|right)\s+)?(?:leg|thigh|calf|foot)\s+(?:is|feels|feel|goes|went|gets|keeps\s+going|has\s+gone)"
    r"\s+(?:\w+\s+)?(?:numb|tingly|dead|asleep)\b",
    r"\bnumb\s+(?:(?:left|right)\s+)?(?:leg|foot|thigh)\b",
    gate=starts(
        "sciatica", "radicular", "leg", "thigh", "calf", "shin", "hamstring", "foot", "ankle", "toes", "big", "knee"
    ),
)
# Explicit statements that pain stays in the back.
NOT_RADIATING = lexicon(
    r"\b(?:doesn't|does\s+not|don't|do\s+not|didn't|did\s+not|isn't|is\s+not|not|no|never|without)\s+(?:\w+\s+){0,2}?"
    r"(?:radiat\w*|spread\w*|shoot\w*|travel\w*|go\s+(?:down|into)|going\s+(?:down|into))",
    r"\b(?:only|just|stays?|staying|localized|localised|confined)\s+(?:in|to)\s+(?:my\s+|the\s+)?(?:lower\s+|low\s+)?back\b",
)

FEVER = lexicon(
    words("fever", "fevers", "feverish", "febrile", "chills", "shivers", "shivering", "rigors", "night sweats"),
    r"\bsweat\w*\s+(?:at\s+night|through\s+(?:my|the)\s+(?:sheets|clothes|pajamas|pyjamas))\b|\bdrenching\s+sweats\b",
    r"\bwak\w*\s+up\s+(?:drenched|soaked|sweating)\b",
    r"\btemp(?:erature)?\s+(?:(?:of|is|was|at|around|about|hit|reached|up\s+to|over)\s+)*(?:10[0-9]|3[89])\b",
    r"\b(?:10[0-5]|3[89])(?:\.[0-9])?\s*(?:°\s*[fc]?|degrees|f\b|c\b)",
    r"\b(?:a|high|raised|running\s+a|have\s+a|had\s+a|got\s+a|with\s+a)\s+(?:high\s+)?temp(?:erature)?\b",
    gate=(
        *starts("fever", "febrile", "chills", "shivers", "rigors", "night", "sweat", "drenching", "waking", "temp"),
        *("100", "101", "102", "103", "104", "105", "38", "39"),
    ),
)

_HEIGHT = (
    r"(?:ladders?|roofs?|rooftop|stairs|staircase|stairway|steps|flight\s+of\s+stairs|balcony|trees?|scaffold\w*"
    r"|heights?|horse|horseback|loft|attic|deck|truck|lorry|platform|cliff|wall|bunk\s*bed|top\s+bunk|window"
    r"|(?:second|third|2nd|3rd)\s+(?:floor|story|storey))\b"
)
MAJOR_TRAUMA = lexicon(
    r"\b(?:fell|fall|falls|falling|fallen|tumbled|tumbling|came\s+down|thrown|slipped|slid|jumped)\s+(?:\w+\s+){0,3}?"
    r"(?:off|from|down|out\s+of|through)\s+(?:\w+\s+){0,3}?" + _HEIGHT,
    r"\b(?:fell|fall|falling|fallen)\s+(?:about\s+|around\s+|over\s+|nearly\s+|almost\s+)?(?:[0-9]+|\w+)\s*"
    r"(?:feet|ft|foot|metres|meters|m|stories|storeys|floors)\b",
    r"\b(?:car|auto|automobile|motor[- ]?vehicle|vehicle|road\s+traffic|traffic|motorcycle|motorbike|motor\s+bike|bike"
    r"|bicycle|truck|bus|van|head-?on|rear-?end|highway|hit\s+and\s+run)\s+(?:accident|crash|collision|wreck|smash"
    r"|pile-?up)s?\b",
    words("mva", "mvc", "rta", "mvas", "mvcs", "whiplash", "rear-ended", "rear ended", "t-boned", "tboned", "run over"),
    r"\b(?:hit|struck|knocked\s+(?:down|over))\s+by\s+(?:a|an|the)\s+(?:\w+\s+)?(?:car|truck|vehicle|bus|van"
    r"|motorcycle|motorbike|lorry|train|cyclist)\b",
    r"\b(?:crashed|totaled|totalled|wrecked|rolled|flipped)\s+(?:my|the|our|a|his|her)\s+(?:\w+\s+)?(?:car|truck"
    r"|vehicle|motorcycle|motorbike|bike|van|suv)\b",
    r"\b(?:in|had|was\s+in|been\s+in|involved\s+in)\s+(?:a|an)\s+(?:\w+\s+)?(?:crash|collision|wreck)\b",
    r"\b(?:direct|heavy|hard|severe|violent)\s+blow\b|\bblow\s+to\s+(?:my|the)\s+(?:back|spine|neck)\b",
    r"\b(?:hit|struck|smashed|whacked|crushed|pinned|trapped)\s+(?:\w+\s+){0,3}?(?:by|with|under)\s+(?:(?:a|an|the|some)\s+)?"
    r"(?:\w+\s+)?(?:heavy|falling|beam|pipe|bat|club|log|tree|branch|machine|machinery|forklift|pallet|girder"
    r"|metal|steel|concrete|load)\b",
    r"\b(?:shelf|shelves|beam|box|boxes|tree|branch|pallet|load|rack|wall|ceiling|machine|piece|bar|log|crate|weight"
    r"|object|something|cabinet|stack|pile|pipe|girder|sheet|door|tv|furniture)s?\s+(?:(?!and\b|then\b|i\b)\w+\s+){0,2}?"
    r"(?:fell|landed|dropped|collapsed|came\s+down)\s+on\s+"
    r"(?:top\s+of\s+)?(?:me|my\s+(?:back|neck|spine|head))\b",
    r"\b(?:fell|landed|dropped|collapsed)\s+on\s+(?:top\s+of\s+)?me\b",
    r"\bkicked\s+by\s+a\s+(?:horse|cow|mule)\b|\bcrush\s+injury\b|\b(?:assaulted|beaten\s+up|mugged)\b",
    gate=starts(
        "fell",
        "fall",
        "tumbled",
        "came",
        "thrown",
        "slipped",
        "jumped",
        "accident",
        "crash",
        "collision",
        "wreck",
        "smash",
        "pile",
        "mva",
        "mvc",
        "rta",
        "whiplash",
        "rear",
        "boned",
        "tboned",
        "run",
        "hit",
        "struck",
        "knocked",
        "totaled",
        "rolled",
        "flipped",
        "blow",
        "whacked",
        "crushed",
        "pinned",
        "trapped",
        "landed",
        "dropped",
        "kicked",
        "assaulted",
        "beaten",
        "mugged",
    ),
)

CANCER = lexicon(
    r"\bcancer\w*(?!\s+(?:scare|screening|screen|check|test|risk))",
    words(
        "carcinoma",
        "sarcoma",
        "melanoma",
        "lymphoma",
        "leukemia",
        "leukaemia",
        "myeloma",
        "malignancy",
        "malignant",
        "radiotherapy",
        "mastectomy",
        "hodgkin's",
        "hodgkins",
        "hodgkin",
        "mesothelioma",
        "glioma",
        "neoplasm",
        "oncologist",
        "oncology",
    ),
    r"\bmetasta\w+|\b(?<!benign\s)tumou?rs?\b|\bchemo\w*|\bradiation\s+(?:therapy|treatment)",
    gate=starts(
        "cancer",
        "carcinoma",
        "sarcoma",
        "melanoma",
        "lymphoma",
        "leukemia",
        "myeloma",
        "malignant",
        "radiotherapy",
        "radiation",
        "mastectomy",
        "hodgkin",
        "mesothelioma",
        "glioma",
        "neoplasm",
        "oncology",
        "metastatic",
        "tumour",
        "chemo",
    ),
)

_WEIGHT_UNITS = r"(?:weight|pounds|lbs?|kilos?|kgs?|kilograms|stone|st)\b"
WEIGHT_LOSS = lexicon(
    r"\b(?:lost|losing|(?<!to\s)lose|loss\s+of|dropped|dropping|shed|shedding)\s+(?:\w+\s+){0,3}?"
    r"(?:[0-9]+\s*)?" + _WEIGHT_UNITS,
    r"\bweight\s*loss\b",
    r"\b(?:weight|pounds)\s+(?:is\s+|has\s+been\s+|keeps\s+|have\s+been\s+)?(?:dropping|falling\s+off|coming\s+off)\b",
    gate=starts("lost", "losing", "lose", "dropped", "shed", "weight", "pounds"),
)
WEIGHT_LOSS_ON_PURPOSE = rx(
    r"\b(?<!without\s)(?<!not\s)(?<!no\s)diet\w*|\bon\s+purpose\b|\bintentional(?!ly\s+not)|\b(?<!without\s)(?<!not\s)trying\b|\btried\s+to\s+lose\b",
    words(
        "ozempic",
        "wegovy",
        "mounjaro",
        "zepbound",
        "semaglutide",
        "tirzepatide",
        "weight watchers",
        "bariatric",
        "gastric",
        "calorie",
        "calories",
        "keto",
        "fasting",
        "exercising",
        "working out",
        "gym",
        "pregnancy",
        "baby",
        "gave birth",
    ),
)
WEIGHT_LOSS_UNEXPLAINED = rx(
    words(
        "without trying", "not trying", "unexplained", "unintentional", "unintentionally", "no reason", "for no reason"
    ),
    r"\b(?:can't|cannot|don't)\s+(?:explain|know\s+why)\b|\b(?:not|without|no)\s+(?:dieting|(?:a\s+|any\s+)?diet)\b",
)

_STEROIDS = (
    r"(?:steroids?|prednisone|prednisolone|corticosteroids?|dexamethasone|hydrocortisone|medrol|methylprednisolone"
    r"|cortisone)"
)
_BIOLOGICS = (
    "methotrexate",
    "humira",
    "adalimumab",
    "enbrel",
    "etanercept",
    "remicade",
    "infliximab",
    "stelara",
    "ustekinumab",
    "cosentyx",
    "secukinumab",
    "rituximab",
    "rituxan",
    "actemra",
    "tocilizumab",
    "orencia",
    "abatacept",
    "simponi",
    "golimumab",
    "cimzia",
    "certolizumab",
    "taltz",
    "ixekizumab",
    "skyrizi",
    "tremfya",
    "tacrolimus",
    "prograf",
    "cyclosporine",
    "ciclosporin",
    "mycophenolate",
    "cellcept",
    "azathioprine",
    "imuran",
    "sirolimus",
    "leflunomide",
    "tofacitinib",
    "xeljanz",
    "rinvoq",
    "upadacitinib",
    "olumiant",
    "baricitinib",
    "ocrevus",
    "tysabri",
    "biologic",
    "biologics",
    "hiv",
    "immunocompromised",
    "immune compromised",
    "immunodeficiency",
    "weakened immune system",
    "weak immune system",
    "low immune system",
)
IMMUNOSUPPRESSION = lexicon(
    words(*_BIOLOGICS),
    r"\b(?<!hair\s)transplant\w*|\bchemo\w*|\bimmun[eo]-?\s*suppress\w*|\bhiv\s*/\s*aids\b"
    r"|\b(?:have|has|had|with)\s+aids\b",
    r"\b(?:long[- ]term|longterm|chronic|daily|regular|maintenance|oral|high[- ]dose|years\s+of|months\s+of)\s+"
    r"(?:\w+\s+)?" + _STEROIDS + r"\b",
    r"\b(?:on|taking|take|takes|using|use)\s+(?:\w+\s+){0,2}?"
    + _STEROIDS
    + r"\b(?!\s+(?:injections?|shots?|jabs?|creams?|ointment|inhaler|spray|nasal|drops|epidural|dose\s*pa?c?k"
    r"|taper|burst))(?:\s+(?:for|since)\s+(?:\w+\s+)?(?:years|months|decades?)\b)?",
    r"\b" + _STEROIDS + r"\s+(?:for|since)\s+(?:(?:many|several|a\s+few|the\s+(?:last|past))\s+)?(?:[0-9]+\s+|\w+\s+)?"
    r"(?:years|months|decades?)\b",
)
STEROID_SHORT_COURSE = rx(
    r"\bfor\s+(?:a|one|two|three|four|five|six|seven|ten|[0-9]+|a\s+few|a\s+couple\s+of)\s+(?:days?|week)\b",
    words("short course", "dose pack", "dosepak", "dose pak", "medrol pack", "taper", "burst", "one-off", "once"),
)
HIV_NEGATIVE = rx(
    r"\bhiv[- ]?negative\b|\bnegative\s+for\s+hiv\b|\bhiv\s+test\w*\s+(?:was\s+|came\s+back\s+)?negative\b"
)

IV_DRUG_USE = lexicon(
    r"\b(?:inject\w*|shoot\w*|shot)\s+(?:up\s+)?(?:drugs|heroin|meth\w*|cocaine|speed|crack|fentanyl|opioids?"
    r"|opiates?|dope|smack|ketamine|h)\b",
    r"\b(?:iv|i\.v\.|intravenous|injection|injecting|injected)\s+drugs?\b",
    words("heroin", "shooting up", "shoot up", "shot up", "pwid", "track marks", "needle sharing"),
    r"\b(?:shar\w+|dirty|used)\s+needles\b",
    gate=starts("inject", "shoot", "shot", "drugs", "heroin", "pwid", "track", "needle"),
)

# --- conditions and imaging ----------------------------------------------------------------------------

_DISC = r"dis[ck]s?\b"
CONDITIONS = lexicon(
    facet_joint_arthritis=r"\bfacet\w*\s+(?:joints?\s+)?(?:\w+\s+)?(?:arthritis|osteoarthritis|arthropathy"
    r"|arthrosis|syndrome|disease|degeneration|hypertrophy|osteoarthrosis)\b"
    r"|\b(?:arthritis|arthropathy|osteoarthritis|degeneration)\s+(?:in|of)\s+(?:my\s+|the\s+)?(?:\w+\s+)?facet\w*"
    r"(?:\s+joints?)?"
    r"|\bfacet\s+joints?\s+(?:is|are|were|was)\s+(?:\w+\s+)?(?:arthritic|degenerat\w+|inflamed|worn)",
    degenerative_disc=r"\bdegenerative\s+"
    + _DISC
    + r"(?:\s+disease)?|\bddd\b|\bdegenerat\w+\s+(?:\w+\s+){0,2}?"
    + _DISC
    + r"|\b"
    + _DISC
    + r"\s+(?:\w+\s+){0,2}?degenerat\w+|\bdis[ck]\s+(?:desiccation|dessication|disease)"
    r"|\bworn(?:[- ]out|[- ]down)?\s+"
    + _DISC
    + r"|\b(?:thinning|narrow\w*|collapsed)\s+"
    + _DISC
    + r"|\bdis[ck]\s+(?:space\s+)?narrowing\b|\bdiscs\s+(?:are|is)\s+(?:\w+\s+)?(?:worn|thinning|narrow\w*)",
    disc_herniation=r"\b(?:herniat\w+|slipped|bulg\w+|ruptur\w+|prolaps\w+|protru\w+|extru\w+|blown)\s+(?:\w+\s+){0,2}?"
    + _DISC
    + r"|\b"
    + _DISC
    + r"\s+(?:\w+\s+){0,2}?(?:herniation|hernia|bulges?|bulging|prolapse|protrusion|extrusion"
    r"|rupture|ruptured|herniated|slipped|protruding)\b|\bhnp\b|\bherniation\b|\bherniated\b",
    spinal_stenosis=r"\b(?<!aortic\s)(?<!carotid\s)(?<!mitral\s)(?<!pyloric\s)(?<!valve\s)(?<!artery\s)"
    r"(?:(?:spinal|lumbar|cervical|thoracic|foraminal|central|canal|neural)\s+)*stenosis\b",
    arthritis=r"\b(?:osteo-?)?arthritis\b|\barthritic\b|\bspondylosis\b|\bspondyloarthritis\b|\bspondylitis\b"
    r"|\bdegenerative\s+joint\s+disease\b|\bdjd\b|\barthrosis\b",
    gate=starts(
        "facet",
        "disc",
        "disk",
        "ddd",
        "herniated",
        "hnp",
        "stenosis",
        "arthritis",
        "osteoarthritis",
        "spondylosis",
        "djd",
        "degenerative",
    ),
)
SPINE_SITE = rx(
    words(
        "back",
        "spine",
        "spinal",
        "neck",
        "lumbar",
        "thoracic",
        "cervical",
        "facet",
        "facets",
        "vertebra",
        "vertebrae",
        "si joint",
        "sacroiliac",
        "sacrum",
        "tailbone",
        "coccyx",
    ),
    r"\b[lcts][0-9]\b",
)
_OTHER_SITES = (
    "knee",
    "knees",
    "hip",
    "hips",
    "hand",
    "hands",
    "finger",
    "fingers",
    "thumb",
    "thumbs",
    "wrist",
    "wrists",
    "shoulder",
    "shoulders",
    "elbow",
    "elbows",
    "ankle",
    "ankles",
    "foot",
    "feet",
    "toe",
    "toes",
    "jaw",
    "heart",
    "aortic",
    "carotid",
    "chest",
    "head",
    "brain",
    "abdomen",
    "belly",
    "stomach",
    "kidney",
    "dental",
    "teeth",
    "tooth",
    "breast",
    "lung",
    "lungs",
    "sinus",
    "sinuses",
    "leg",
    "arm",
    "arms",
)
OTHER_SITE = rx(words(*_OTHER_SITES))
# ``OTHER_SITE.fullmatch(word)`` for one word (a run of word characters) is membership of this set, a
# lookup instead of a regex call: every site is a plain word, which ``\b`` on both sides lets match alone.
OTHER_SITE_WORDS = frozenset(_OTHER_SITES)
assert all(site.isalpha() and site.isascii() for site in OTHER_SITE_WORDS)

IMAGING = (
    r"(?:mris?|m\.r\.i\.?|x-?rays?|xrays?|ct(?:\s+scans?)?|cat\s+scans?|scans?|imaging|radiographs?|myelograms?"
    r"|bone\s+scans?)\b"
)
IMAGING_DONE = lexicon(
    r"\b(?:had|got|gotten|did|done|took|taken|underwent|went\s+for|went\s+in\s+for"
    r"|completed|previous|prior|recent|last|old|latest|earlier|an\s+old)\s+(?:\w+\s+){0,3}?" + IMAGING,
    r"\b"
    + IMAGING
    + r"\s+(?:\w+\s+){0,4}?(?:showed|shows|showing|show|revealed|reveals|revealing|found|finds|confirmed"
    r"|confirms|indicated|indicates|came\s+back|results?|report|findings|didn't\s+show|did\s+not\s+show)\b",
    r"\b" + IMAGING + r"\s+(?:\w+\s+){0,2}?(?:was|were|is|are|came\s+out|looked)\s+(?:\w+\s+)?(?:normal|clear|fine|ok"
    r"|okay|negative|unremarkable|good|bad|abnormal|done|taken|performed)\b",
    r"\b" + IMAGING + r"\s+(?:done|taken)\b",
    r"\b" + IMAGING + r"\s+(?:done\s+)?(?:in|on|from|last|back\s+in)\s+(?:january|february|march|april|may|june|july"
    r"|august|september|october|november|december|[12][0-9]{3}|last|the\s+past)\b",
    r"\b" + IMAGING + r"\s+(?:\w+\s+){0,2}?(?:[0-9]+|a|an|one|two|three|few|couple\s+of)\s+(?:\w+\s+)?"
    r"(?:days?|weeks?|months?|years?)\s+ago\b",
    gate=starts("mri", "m", "x", "xray", "ct", "cat", "scan", "imaging", "radiograph", "myelogram", "bone"),
)
IMAGING_NEVER = lexicon(
    r"\b(?:never|not|haven't|hasn't|have\s+not|has\s+not|no|didn't|did\s+not|without)\s+(?:\w+\s+){0,3}?" + IMAGING,
    gate=starts("mri", "m", "x", "xray", "ct", "cat", "scan", "imaging", "radiograph", "myelogram", "bone"),
)
IMAGING_PLANNED = rx(
    words(
        "scheduled",
        "booked",
        "going to",
        "gonna",
        "will",
        "need",
        "needs",
        "needed",
        "want",
        "wants",
        "wanted",
        "should",
        "waiting",
        "wait",
        "referred",
        "referral",
        "plan",
        "planning",
        "planned",
        "order",
        "ordered",
        "ordering",
        "getting",
        "get",
        "requested",
        "request",
        "asked for",
        "recommend",
        "recommended",
        "suggest",
        "suggested",
        "might",
        "hoping",
        "hope",
        "would like",
        "next",
        "upcoming",
        "appointment",
        "awaiting",
        "pending",
        "supposed",
        "have to",
        "has to",
        "due",
        "tomorrow",
        "soon",
        "can i",
        "could i",
        "do i need",
        "should i",
        "approval",
        "approve",
        "insurance",
        "i'll",
        "won't",
    ),
)
IMAGING_RESULT = rx(
    words(
        "showed",
        "shows",
        "showing",
        "revealed",
        "reveals",
        "found",
        "confirmed",
        "came back",
        "results",
        "result",
        "report",
        "findings",
    ),
    r"\b(?:didn't|did\s+not)\s+show\b",
)

# --- the other facts ---------------------------------------------------------------------------------

ONSET = lexicon(
    sudden=r"\bsudden(?:ly)?\b|\ball\s+of\s+a\s+sudden\b|\bout\s+of\s+(?:nowhere|the\s+blue)\b|\babrupt(?:ly)?\b"
    r"|\ball\s+at\s+once\b|\b(?:back|it|something)\s+(?:\w+\s+)?(?:went|go|goes|gone|going)\s+out\b"
    r"|\b(?:threw|throw|thrown|put)\s+(?:my\s+)?back\s+out\b|\blocked\s+up\b|\bseized\s+up\b|\bseized\b"
    r"|\bback\s+(?:just\s+)?(?:gave\s+out|locked|seized)\b",
    gradual=r"\bgradual(?:ly)?\b|\bslowly\b|\bcrept\s+up\b|\bcreep\w*\s+up\b|\bover\s+time\b|\bbit\s+by\s+bit\b"
    r"|\blittle\s+by\s+little\b|\bprogressively\b|\bbuilt\s+up\b|\bbuilding\s+up\b",
    gate=starts(
        "sudden",
        "abrupt",
        "once",
        "out",
        "locked",
        "seized",
        "gradual",
        "slowly",
        "crept",
        "creeping",
        "time",
        "bit",
        "little",
        "progressively",
        "built",
        "building",
    ),
)
EPISODES = lexicon(
    recurrent=r"\b(?:not|isn't|is\s+not|wasn't)\s+(?:the|my)\s+first\s+time\b|\bon\s+and\s+off\b"
    r"|\bon-and-off\b|\boff\s+and\s+on\b|\bonce\s+again\b|(?<!able\s)(?<!to\s)(?<!never\s)\bagain\b|\brecurr\w*"
    r"|\bkeeps?\s+(?:coming|happening)\s+back\b|\bkeeps\s+happening\b|\bcomes\s+and\s+goes\b|\bflare[- ]?ups?\b"
    r"|\bflared\b|\bflares?\b|\b(?:had|happened)\s+(?:this|it)\s+before\b|\bhappened\s+before\b"
    r"|\banother\s+(?:episode|flare|bout|attack)\b|\bit's\s+back\b|\bhistory\s+of\s+(?:\w+\s+)?back\s+(?:pain|problems)"
    r"|\bsame\s+(?:pain|thing)\s+as\s+(?:before|last\s+time)\b|\bused\s+to\s+get\b|\bevery\s+(?:few\s+)?(?:months|years)\b"
    r"|\brelaps\w*",
    first=r"\bnever\s+(?:had|experienced|felt|been)\s+(?:\w+\s+){0,4}?before\b|\bfirst\s+(?:time|episode|ever)\b"
    r"|\bnever\s+happened\s+before\b|\bnew\s+(?:for|to)\s+me\b|\bnever\s+had\s+(?:back\s+)?(?:pain|problems|trouble)\b",
)
LOCATION = lexicon(
    lower_back=r"\blower[- ]?back\b|\blow[- ]?back\b|\blumbar\b|\blower\s+spine\b|\btail\s*bone\b|\bcoccyx\b"
    r"|\bsacrum\b|\bsacral\b|\bsacroiliac\b|\bsi\s+joints?\b|\bsmall\s+of\s+(?:my\s+)?back\b"
    r"|\bbottom\s+of\s+(?:my\s+)?(?:back|spine)\b|\blower\s+part\s+of\s+(?:my\s+)?back\b|\blbp\b|\blumbago\b",
    mid_back=r"\bmid[- ]?back\b|\bmiddle\s+(?:of\s+(?:my\s+|the\s+)?)?(?:back|spine)\b|\bmid[- ]?spine\b"
    r"|\bthoracic\b",
    upper_back=r"\bupper[- ]?back\b|\bupper\s+spine\b|\bshoulder\s*blades?\b|\btop\s+of\s+(?:my\s+)?back\b"
    r"|\bbetween\s+(?:my\s+)?shoulders\b",
    neck=r"\bneck\b|\bcervical\b(?!\s+(?:cancer|smear|screening))|\bwhiplash\b",
    gate=starts(
        "lower",
        "low",
        "lumbar",
        "tailbone",
        "tail",
        "coccyx",
        "sacrum",
        "sacroiliac",
        "si",
        "small",
        "bottom",
        "lbp",
        "lumbago",
        "mid",
        "middle",
        "thoracic",
        "upper",
        "shoulder",
        "top",
        "between",
        "neck",
        "cervical",
        "whiplash",
    ),
)

_SCORE_NUMBER = r"(?:10|[0-9](?:\.[0-9])?|zero|one|two|three|four|five|six|seven|eight|nine|ten)"
SCORE_OUT_OF_TEN = lexicon(
    r"(?<![0-9./])(?P<a>1[0-9]|" + _SCORE_NUMBER + r")(?:\s*(?:-|to|or)\s*(?P<b>" + _SCORE_NUMBER + r"))?\s*"
    r"(?:/|out\s+of|outta|over|on\s+a\s+scale\s+of)\s*(?:10|ten)\b(?![/0-9])",
    gate=("10", "ten"),
)
SCORE_STATED = lexicon(
    r"\bpain(?:\s+(?:level|score|rating|intensity|scale))?(?:\s+(?:is|was|are|'s|has\s+been|feels|at|of|around|about|like"
    r"|currently|right\s+now|now|today|sits|stays|level))*\s*[:=-]?\s*(?:(?:a|an|about|around|roughly|maybe|probably"
    r"|like|at|level|solid|constant|steady|consistent|consistently|easily|usually|at\s+least)\s+)*"
    r"(?P<a>" + _SCORE_NUMBER + r")\b",
    r"\brat(?:e|ed|ing)\s+(?:it|my\s+pain|the\s+pain|this)?\s*(?:at|as)?\s*(?:a|an)?\s*(?P<a>" + _SCORE_NUMBER + r")\b",
    r"\bgive\s+it\s+(?:a|an)\s+(?P<a>" + _SCORE_NUMBER + r")\b",
    r"\bscale\s+of\s+(?:0|1|one|zero)\s*(?:-|to)\s*(?:10|ten)\s*[,:]?\s*(?:(?:it's|it\s+is|i'd\s+say|i\s+would\s+say"
    r"|about|around|a|an|maybe|probably|i'm\s+at|my\s+pain\s+is|it\s+was|its)\s+)*(?P<a>" + _SCORE_NUMBER + r")\b",
    r"(?<![0-9./])(?P<a>" + _SCORE_NUMBER + r")\s+on\s+(?:a|the)\s+(?:pain\s+)?scale\b",
    gate=starts("pain", "rate", "rating", "rated", "give", "scale"),
)
SCORE_UNITS_AFTER = rx(
    r"\s*(?:-|to|or)?\s*(?:[0-9]+\s*)?(?:days?|weeks?|wks?|months?|years?|yrs?|hours?|hrs?|times|am|pm|%|lbs?|pounds"
    r"|kgs?|mg|minutes?|mins?|percent|o'clock)\b"
)
SEVERITY = lexicon(
    r"\b(?:unbearabl[ey]|excruciating(?:ly)?|agon(?:y|ies|i[sz]ing)|severe(?:ly)?|killing\s+me)\b",
    r"\bworst\s+pain\s+(?:i've\s+|i\s+have\s+)?ever\b|\bworst\s+pain\s+(?:i've\s+|i\s+have\s+)?(?:had|felt)\s+ever\b"
    r"|\bworst\s+pain\s+of\s+my\s+life\b",
    r"\b(?:can't|cannot|can\s+not)\s+move\b(?!\s+(?:my\s+)?(?:(?:left|right)\s+)?(?:legs?|foot|feet|toes|ankles?))",
    r"\bcan\s+barely\s+(?:stand|walk)\b",
    gate=starts("unbearable", "excruciating", "agony", "severe", "killing", "worst", "move", "barely"),
)
SEVERE_NOT_PAIN = rx(
    r"\s+(?:\w+\s+)?(?:arthritis|stenosis|degenerat\w*|dis[ck]s?|herniation|osteo\w*|scoliosis|case|weight|allerg\w*)\b"
)

TRIGGERS = lexicon(
    # Listed first so that "lifting weights" reads as exercise rather than lifting.
    exercise=r"\b(?:at\s+the\s+)?gym\b|\bwork(?:ing|ed)?[- ]?out\b|\bworkouts?\b|\bexercis\w*"
    r"|\brunning\b(?!\s+(?:a\s+(?:fever|temp\w*)|errands|late|out|around|low|high))|\bran\b(?!\s+(?:out|errands|a\s+fever))"
    r"|\bjog\w*|\bsports?\b|\bweight\s*lifting\b|\blift\w*\s+weights\b|\bweights\b|\bdeadlift\w*|\bsquat\w*"
    r"|\bbench\s*press\w*|\bcrossfit\b|\bmarathon\b|\bhik(?:e|ed|ing)\b|\bswimming\b|\bclimbing\b|\bboxing\b"
    r"|\bmartial\s+arts\b|\bkarate\b|\bjudo\b|\bdanc(?:e|ing)\b|\bbootcamp\b|\browing\b|\bkettlebell\w*|\bburpees\b"
    r"|\btrampoline\b|\bsurfing\b|\bskateboard\w*|\bwrestling\b|\bsprint\w*|\bcycling\b|\bbiking\b|\bspin\s+class\b"
    r"|\byoga\b|\bpilates\b|\btraining\b"
    r"|\b(?:football|soccer|basketball|tennis|rugby|hockey|volleyball|baseball|softball|squash|badminton|pickleball"
    r"|ski(?:ing)?|snowboard\w*|lacrosse|cricket|netball)\b",
    lifting=r"\blift(?:ed|ing|s)?\b|\bcarr(?:y|ied|ying|ies)\b"
    r"|\b(?:bent|bending|bend|bends|leaned|leaning|reached|reaching|stooped|stooping)\s+(?:down\s+|over\s+)?"
    r"(?:to\s+)?(?:pick|grab|get|lift)\w*"
    r"|\bpick(?:ed|ing|s)?\s+(?:\w+\s+){0,3}?up\b"
    r"|\bmov(?:e|ed|ing)\s+(?:\w+\s+){0,2}?(?:furniture|boxes|box|couch|sofa|fridge|refrigerator|washer|dryer|table"
    r"|desk|bed|mattress|piano|dresser|wardrobe|cabinet|house|home|apartment|flat|heavy)\b"
    r"|\bhelp(?:ed|ing)?\s+(?:\w+\s+){0,2}?mov(?:e|ed|ing)\b|\bhaul\w*",
    twisting=r"\btwist\w*|\bturn(?:ed|ing)?\s+(?:\w+\s+)?(?:awkwardly|wrong|the\s+wrong\s+way|too\s+(?:fast|quickly"
    r"|sharply)|quickly|suddenly|sharply|funny)\b|\bawkward\w*\s+(?:turn|twist|movement)\b|\bgolf\w*"
    r"|\bswing\w*\s+(?:a\s+)?(?:golf\s+club|club|bat|racket|racquet)\b",
    other_exertion=r"\bshovel\w*|\bgarden\w*|\byard\s*work\b|\braking\b|\brak(?:e|ed)\s+(?:the\s+)?leaves\b"
    r"|\bmow\w*|\bweed(?:ing|ed)\b|\bdig(?:ging)?\b|\bdug\b|\bhouse\s*work\b|\bchores\b|\bcleaning\b|\bvacuum\w*"
    r"|\bhoover\w*|\bmopp\w*|\bscrubb\w*|\bpainting\b|\bchopp\w*\s+wood\b|\bsplitting\s+wood\b|\bconstruction\b"
    r"|\brenovat\w*|\bdiy\b|\bpush(?:ed|ing)?\s+(?:\w+\s+)?(?:car|heavy|cart|trolley|wheelbarrow|lawn\s*mower|mower"
    r"|snow)\b|\bpull(?:ed|ing)\s+(?:\w+\s+)?(?:weeds|cart|heavy)\b|\bover[- ]?exert\w*|\boverdid\s+it\b"
    r"|\boverdoing\s+it\b|\bmanual\s+labou?r\b|\bheavy\s+work\b",
    none=r"\bout\s+of\s+(?:nowhere|the\s+blue)\b|\bfor\s+no\s+(?:\w+\s+)?reason\b"
    r"|\bno\s+(?:apparent\s+|obvious\s+|particular\s+|known\s+|specific\s+|real\s+)?(?:injury|trauma|reason|cause"
    r"|trigger|accident|incident)\b|\bdidn't\s+(?:do|lift)\s+anything\b|\bdid\s+not\s+(?:do|lift)\s+anything\b"
    r"|\bnothing\s+(?:in\s+)?particular\b|\bdidn't\s+(?:injure|hurt)\s+(?:myself|it)\b"
    r"|\b(?:woke|wake|waking|wakes)\s+up\s+(?:with|like|in|and)\b|\bsneez\w*|\bcough\w*"
    r"|\bslept\s+(?:\w+\s+)?(?:awkward\w*|funny|wrong|badly|weird\w*|on\s+it\s+wrong)\b"
    r"|\bsleeping\s+(?:\w+\s+)?(?:awkward\w*|funny|wrong|badly|weird\w*)\b"
    r"|\b(?:from|after|by)\s+(?:prolonged\s+|long\s+)?sitting\b|\bsitting\s+(?:at\s+(?:a|my|the)\s+desk|for\s+(?:hours"
    r"|too\s+long|a\s+long)|all\s+day|too\s+long|long\s+hours)\b|\bsat\s+(?:at|for|all|too|in)\b"
    r"|\b(?:long|prolonged)\s+(?:hours\s+of\s+)?sitting\b|\bjust\s+(?:happened|started)\b"
    r"|\bstarted\s+(?:on\s+its\s+own|by\s+itself)\b|\bspontaneous\w*",
)
# "It hurts when I lift", "coughing makes it worse": an activity that aggravates is not a trigger.
# A lexicon, so it is tried only at the words it can start with (``Document.first`` in a window).
AGGRAVATOR_BEFORE = lexicon(
    r"\b(?:hurts|hurting|painful|pain|worse|sore|aches|difficult|hard|can't|cannot|unable|trouble|struggle"
    r"|struggling|impossible|bad|agony|kills|killing)\b[^,.;]{0,30}?\b(?:when(?:ever)?|if|while|to)\s+(?:i\s+|i'm\s+)?"
    r"(?:try\s+to\s+|am\s+)?$",
    r"\b(?:worse|better|aggravated|eased|relieved|hurts|painful)\s+(?:\w+\s+)?(?:with|by|when|after|from|while|during)"
    r"\s+(?:i\s+)?$",
)
AGGRAVATOR_AFTER = rx(
    r"\s+(?:\w+\s+){0,2}?(?:makes?|made|hurts?|is\s+(?:painful|hard|difficult|impossible|agony)|aggravates?|worsens?"
    r"|kills|sets\s+it\s+off|triggers?\s+it)\b",
)
