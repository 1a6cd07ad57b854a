package router

import "math/bits"

// The classifier's lexicon: word classes and an open-addressing table
// keyed by the FNV-1a hash the scanner computes while it reads a word, so
// a lookup neither allocates nor hashes twice. Built once at init.

// wordClass is a bit set of the lexicon classes a word belongs to.
type wordClass uint32

const (
	wRel     wordClass = 1 << iota // relational quantities: than, twice, half, remaining, average …
	wSeq                           // sequence / state change: first, then, later, initially …
	wCond                          // conditions and hypotheticals: if, unless, suppose, would …
	wCausal                        // causal connectives: because, therefore, hence …
	wReason                        // reasoning and engineering verbs: prove, derive, compare, refactor …
	wMath                          // mathematical vocabulary: equation, integral, probability …
	wLegal                         // legal vocabulary
	wFinance                       // financial vocabulary
	wMedical                       // medical vocabulary
	wScience                       // natural-science vocabulary
	wCodeKw                        // keywords that start a line of code in common languages
	wLangGo                        // language hints (counted only when code is present)
	wLangPy
	wLangJS
	wLangJava
	wLangRust
	wLangC
	wLangSQL
	wLangShell
	wSimple // light tasks: translate, summarize, define, rewrite …
	wConj   // clause-joining conjunctions: and, but, while …
	wRecall // recall / definition phrasing: called, known as, refers to …

	numClasses = iota
)

// The lexicon. Lists are general English / programming vocabulary, not
// phrases from any evaluation set.
var lexicon = []struct {
	cls   wordClass
	words string
}{
	{wRel, "than twice double doubled triple tripled thrice half halves quarter quarters times remaining remainder rest leftover leftovers average averages combined together difference fewer older younger ratio ratios proportion proportional percent percentage fraction fractions respectively"},
	{wSeq, "first second third fourth fifth sixth seventh eighth then later initially originally already next previously subsequently afterward afterwards meanwhile finally eventually thereafter"},
	{wCond, "if unless suppose supposing assume assuming assumption whether would otherwise provided hypothetically"},
	{wCausal, "because therefore thus hence consequently since accordingly"},
	{wReason, "prove proof derive derivation justify deduce infer demonstrate analyze analyse analysis compare contrast evaluate assess critique optimize optimise refactor refactoring redesign architect architecture debug diagnose implement tradeoff tradeoffs rigorous rigorously formally"},
	{wMath, "equation equations integral integrals derivative derivatives polynomial polynomials matrix matrices vector vectors theorem lemma probability probabilities variance logarithm exponent exponential sqrt sin cos tan modulo prime primes factorial permutation permutations combinations eigenvalue eigenvalues converge convergence inequality solve calculate compute"},
	{wLegal, "court courts plaintiff plaintiffs defendant defendants contract contracts contractual statute statutes statutory liability liable negligence negligent tort torts testimony deed lease leases jury trial convicted conviction appeal appellate sue sued lawsuit damages breach attorney attorneys lawyer judge constitutional constitution amendment jurisdiction prosecution prosecutor felony misdemeanor tenant landlord covenant easement injunction hearsay indemnify indemnification warranty arbitration litigation counsel legal law laws lawful unlawful copyright patent trademark infringement licensee licensor herein hereby thereof whereas clause clauses ordinance regulation regulations compliance"},
	{wFinance, "investment investments investor investors portfolio dividend dividends equity equities bond bonds stock stocks securities inflation gdp fiscal monetary revenue revenues liabilities assets depreciation amortization accounting audit auditor ebitda liquidity valuation shareholder shareholders earnings mortgage loan loans debt creditor bankruptcy capital hedge interest tax taxes taxation financial finance banking demand supply aggregate elasticity marginal monopoly oligopoly tariff tariffs recession unemployment deficit surplus gdp economy economic economics"},
	{wMedical, "patient patients diagnosis diagnoses symptom symptoms treatment treatments clinical drug drugs dose dosage infection tumor tumour cancer therapy syndrome chronic acute physician physicians hospital medication medications prescription prescribe disease diseases disorder surgery surgical contraindication pathology biopsy lesion cardiac renal hepatic insulin diabetes hypertension antibiotic antibiotics vaccine pregnancy pregnant pediatric medical"},
	{wScience, "quantum molecule molecules molecular atom atoms atomic electron electrons photon photons enzyme enzymes protein proteins genome dna rna velocity acceleration momentum entropy thermodynamics wavelength voltage magnetic gravitational orbit particle particles isotope isotopes catalyst equilibrium force forces energy friction gravity inertia kinetic potential thermal heat temperature pressure density wavelength frequency circuit circuits resistor capacitor electric electrical charge charges magnetic acid acids compound compounds oxidation gene genes allele alleles chromosome chromosomes mutation mutations recessive heterozygous homozygous phenotype genotype photosynthesis neuron neurons evolution species physics chemistry biology"},
	{wCodeKw, "func def class import package return public private protected static const var let fn struct impl include from async await interface type elif else for while switch case try catch throw raise select insert update delete create"},
	{wLangGo, "func package chan defer goroutine goroutines nil fmt golang"},
	{wLangPy, "def elif self none lambda print python pip numpy pandas django"},
	{wLangJS, "const console function undefined require javascript typescript node npm react"},
	{wLangJava, "public static void system extends implements java spring"},
	{wLangRust, "fn mut impl crate pub rust cargo"},
	{wLangC, "include printf malloc std cout nullptr cpp"},
	{wLangSQL, "select from where join insert update delete group sql postgres mysql"},
	{wLangShell, "echo grep sudo chmod bash"},
	{wConj, "and but while whereas although though however"},
	{wRecall, "called known refers refer describes associated characterized denote denotes denoted abbreviation acronym stands founded invented discovered"},
	{wSimple, "translate translation summarize summarise summary define definition rephrase rewrite paraphrase spell synonym synonyms hello hi thanks"},
}

const (
	lexBits    = 11
	lexSlots   = 1 << lexBits // open-addressing table size (the lexicon fills about a quarter)
	maxWordLen = 24           // longer words are not looked up
	exactLen   = 9            // the hash is exact for words up to this long
)

// lexEntry is 16 bytes so the whole table stays in the L1 cache; words
// longer than exactLen are compared by their text in lexLong.
type lexEntry struct {
	hash uint64
	cls  wordClass
	long uint32 // 1 + index into lexLong, or 0
}

var (
	lexTable [lexSlots]lexEntry
	lexLong  []string
)

// fenceLangs maps a fenced block's tag to a language name.
var fenceLangs = map[string]string{
	"go": "go", "golang": "go", "python": "python", "py": "python", "python3": "python",
	"js": "javascript", "javascript": "javascript", "jsx": "javascript", "ts": "typescript",
	"typescript": "typescript", "tsx": "typescript", "java": "java", "kotlin": "kotlin", "kt": "kotlin",
	"rust": "rust", "rs": "rust", "c": "c", "h": "c", "cpp": "cpp", "cc": "cpp", "hpp": "cpp",
	"csharp": "csharp", "cs": "csharp", "ruby": "ruby", "rb": "ruby", "php": "php", "swift": "swift",
	"scala": "scala", "sql": "sql", "bash": "shell", "sh": "shell", "shell": "shell", "zsh": "shell",
	"html": "html", "css": "css", "yaml": "yaml", "yml": "yaml", "json": "json", "haskell": "haskell",
	"lua": "lua", "r": "r", "perl": "perl", "dart": "dart", "elixir": "elixir", "zig": "zig",
	"dockerfile": "dockerfile", "terraform": "terraform", "hcl": "terraform", "proto": "protobuf",
}

// Hashes of the words of the phrase "step by step".
var hashStep, hashBy uint64

func init() {
	for _, l := range lexicon {
		start := -1
		for i := 0; i <= len(l.words); i++ {
			if i < len(l.words) && l.words[i] != ' ' {
				if start < 0 {
					start = i
				}
				continue
			}
			if start >= 0 {
				addWord(l.words[start:i], l.cls)
				start = -1
			}
		}
	}
	hashStep, hashBy = hashString("step"), hashString("by")
}

// The word hash: rotate and xor per character (exact for words of up to
// nine letters), mixed once per word for the table index.
const hashSeed = 0

func mixChar(h uint64, c byte) uint64 { return bits.RotateLeft64(h, 7) ^ uint64(c) }

func slotOf(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15) >> (64 - lexBits) }

func hashString(s string) uint64 {
	h := uint64(hashSeed)
	for i := 0; i < len(s); i++ {
		h = mixChar(h, s[i])
	}
	return h
}

func addWord(w string, cls wordClass) {
	if len(w) > maxWordLen {
		panic("router: lexicon word too long: " + w)
	}
	h := hashString(w)
	for i := slotOf(h); ; i = (i + 1) & (lexSlots - 1) {
		e := &lexTable[i]
		if e.cls == 0 {
			*e = lexEntry{hash: h, cls: cls}
			if len(w) > exactLen {
				lexLong = append(lexLong, w)
				e.long = uint32(len(lexLong))
			}
			return
		}
		if e.hash == h && (e.long == 0 || lexLong[e.long-1] == w) {
			e.cls |= cls
			return
		}
	}
}

func lookupWord(h uint64, w []byte) wordClass {
	for i := slotOf(h); ; i = (i + 1) & (lexSlots - 1) {
		e := &lexTable[i]
		if e.cls == 0 {
			return 0
		}
		if e.hash == h {
			if len(w) <= exactLen && e.long == 0 {
				return e.cls
			}
			if e.long != 0 && lexLong[e.long-1] == string(w) {
				return e.cls
			}
		}
	}
}
