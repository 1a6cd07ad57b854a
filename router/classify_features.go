package router

import "unicode/utf8"

// This file holds the classifier's hot path: a byte scanner that reads a
// JSON string's raw text (escapes and all, so nothing is unescaped into a
// new string) and counts the lexical markers the score is built from.
// Nothing here allocates.

// textStats are the raw counts of one scan.
type textStats struct {
	words, longWords                   int
	numbers, fractions, percent        int
	arith, latex, mathSyms             int
	sentences, listItems               int
	lines, codeLines, fences, fileRefs int
	stepByStep                         int
	choiceLines, choiceTokens          int             // answer-option lines ("A. …", "(b) …") and their words and numbers
	cls                                [numClasses]int // per wordClass bit
	commas                             int
	fenceLang                          string
}

// Character classes of ASCII bytes.
const (
	ccOther = iota
	ccLower
	ccUpper
	ccDigit
	ccSpace
	ccNewline
)

var asciiClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = ccLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = ccUpper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = ccDigit
	}
	t[' '], t['\t'], t['\r'] = ccSpace, ccSpace, ccSpace
	t['\n'] = ccNewline
	return t
}()

// scanner turns decoded characters into words, numbers and lines, and
// counts them into a textStats.
type scanner struct {
	textStats

	// the current word
	word   [maxWordLen]byte
	wlen   int
	whash  uint64
	inWord bool
	wAlpha bool // letters only
	wOpBef bool // an operator came right before it
	wFile  bool // follows "name." with no space: maybe a file extension

	// the current number
	inNum                        bool
	numDot, numSlash, numComma   bool // a separator waiting for the next digit
	numDec, numFrac              bool
	lastOperand, opPending       bool
	dollar, backslash, dotAfterW bool

	prev  rune // previous decoded character
	prevH [2]uint64

	backticks int
	inFence   bool
	wantTag   bool // the word after an opening fence is its language tag

	// the current line
	lineChars, lineWords, linePunct, lineIndent int
	lineFirst                                   wordClass
	lineLast                                    rune
	lineLead                                    uint8 // 0 start, 1 digits, 2 list marker, 3 other
	lineTok0                                    int   // words+numbers before the line
	choiceMark                                  uint8 // 0 no, 1 "A." or "(b)" opened the line, 2 and a space followed
}

func newScanner() scanner {
	return scanner{prev: '\n'}
}

// scanJSON scans the raw inside of a JSON string (without its quotes),
// decoding escapes on the fly, and flushes the last token and line.
func (sc *scanner) scanJSON(raw string) {
	for i := 0; i < len(raw); {
		c := raw[i]
		if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && sc.backticks == 0 {
			// the hot path: a word's letters in a tight loop (prev and
			// lineLast keep its first letter, which is all the boundaries
			// look at)
			if !sc.inWord {
				if sc.inNum {
					sc.endNumber()
				}
				sc.startWord()
				sc.lineLead = 3
				sc.lineChars++
				sc.lineLast, sc.prev = rune(c), rune(c)
			}
			h, n, j := sc.whash, sc.wlen, i
			for ; j < len(raw); j++ {
				c = raw[j]
				if c >= 'A' && c <= 'Z' {
					c |= 0x20
				} else if c < 'a' || c > 'z' {
					break
				}
				if n < maxWordLen {
					sc.word[n] = c
					h = mixChar(h, c)
				}
				n++
			}
			sc.whash, sc.wlen, i = h, n, j
			continue
		}
		if c == ' ' && sc.backticks == 0 {
			// the other hot path: a space between words
			sc.boundary()
			if sc.choiceMark == 1 {
				sc.choiceMark = 2
			}
			if sc.lineChars == 0 {
				sc.lineIndent++
			} else if sc.lineLead == 2 {
				sc.textStats.listItems++
				sc.lineLead = 3
			}
			sc.prev = ' '
			i++
			continue
		}
		if c < utf8.RuneSelf && c != '\\' {
			sc.ascii(c)
			i++
			continue
		}
		if c != '\\' {
			r, n := utf8.DecodeRuneInString(raw[i:])
			i += n
			sc.other(r)
			continue
		}
		if i+1 >= len(raw) {
			break
		}
		e := raw[i+1]
		i += 2
		switch e {
		case 'n':
			sc.ascii('\n')
		case 't', 'r', 'b', 'f':
			sc.ascii(' ')
		case 'u':
			r := rune(utf8.RuneError)
			if i+4 <= len(raw) {
				if v, ok := hex4(raw[i : i+4]); ok {
					r = v
					i += 4
				}
			}
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				if lo, ok := hex4(raw[i+2 : i+6]); ok && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					i += 6
				}
			}
			if r < utf8.RuneSelf {
				sc.ascii(byte(r))
			} else {
				sc.other(r)
			}
		default: // \" \\ \/ (and anything malformed, taken literally)
			if e < utf8.RuneSelf {
				sc.ascii(e)
			}
		}
	}
	sc.finish()
}

func hex4(s string) (rune, bool) {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// finish flushes the last token and line; a later text starts afresh.
func (sc *scanner) finish() {
	sc.boundary()
	sc.endLine()
	sc.inFence, sc.wantTag = false, false
	sc.prev = '\n'
}

// ascii handles one decoded ASCII character.
func (sc *scanner) ascii(c byte) {
	if sc.backticks > 0 && c != '`' {
		sc.flushBackticks()
	}
	var cc uint8
	if c < 128 {
		cc = asciiClass[c]
	}
	switch cc {
	case ccLower, ccUpper:
		if sc.inNum {
			sc.endNumber()
		}
		if !sc.inWord {
			sc.startWord()
		}
		sc.addLetter(c | 0x20)
		sc.lineLead = 3
	case ccDigit:
		switch {
		case sc.inWord:
			sc.wAlpha = false
			sc.addLetter(c)
		case sc.inNum:
			if sc.numComma {
				sc.numComma = false
			}
			if sc.numDot {
				sc.numDec = true
			}
			if sc.numSlash {
				sc.numFrac = true
			}
			sc.numDot, sc.numSlash, sc.numComma = false, false, false
		default:
			sc.startNumber()
		}
		if sc.lineLead == 0 {
			sc.lineLead = 1
		}
	case ccSpace, ccNewline:
		sc.boundary()
		if sc.choiceMark == 1 {
			sc.choiceMark = 2
		}
		if cc == ccNewline {
			sc.endLine()
		} else if sc.lineChars == 0 {
			sc.lineIndent++
		} else if sc.lineLead == 2 {
			sc.textStats.listItems++
			sc.lineLead = 3
		}
		sc.prev = rune(c)
		return
	default:
		sc.punct(c)
	}
	sc.lineChars++
	sc.lineLast = rune(c)
	sc.prev = rune(c)
}

// boundary ends the current token at whitespace (or the end of a text)
// and closes a sentence after a terminator.
func (sc *scanner) boundary() {
	sc.endToken()
	if sc.prev == '.' || sc.prev == '!' || sc.prev == '?' {
		sc.textStats.sentences++
	}
	sc.dollar, sc.backslash, sc.dotAfterW = false, false, false
}

// punct handles ASCII punctuation and symbols.
func (sc *scanner) punct(c byte) {
	st := &sc.textStats
	lead := sc.lineLead
	sc.lineLead = 3
	switch c {
	case '.':
		sc.markChoice()
		if sc.inNum {
			sc.numDot = true
			if lead == 1 {
				sc.lineLead = 2
			}
			return
		}
		sc.dotAfterW = sc.inWord
		sc.endToken()
		return
	case ',':
		if sc.inNum {
			sc.numComma = true
			return
		}
		st.commas++
	case '/':
		if sc.inNum {
			sc.numSlash = true
			return
		}
		sc.endToken()
		sc.operator()
		return
	case '%':
		if sc.inNum {
			st.percent++
		}
	case '$':
		sc.endToken()
		sc.dollar = true
		return
	case '\\':
		sc.endToken()
		sc.backslash = true
		return
	case '`':
		sc.endToken()
		sc.backticks++
		return
	case '+', '*', '=', '^', '<', '>':
		sc.endToken()
		sc.operator()
		sc.linePunct++
		return
	case '-':
		if lead == 0 {
			sc.endToken()
			sc.lineLead = 2
			return
		}
		if sc.inWord {
			break // a hyphenated word: just a boundary
		}
		sc.endToken()
		sc.operator()
		return
	case ')':
		sc.markChoice()
		sc.endToken()
		sc.linePunct++
		sc.lastOperand = true
		if lead == 1 {
			sc.lineLead = 2
		}
		return
	case '(':
		sc.endToken()
		sc.linePunct++
		if sc.opPending {
			st.arith++
			sc.opPending = false
		}
		return
	case ';', '{', '}', '[', ']':
		sc.linePunct++
	case ':':
		if sc.prev == ':' || sc.prev == '=' {
			sc.linePunct++
		}
	}
	sc.endToken()
}

// operator notes an arithmetic or comparison symbol after an operand; it
// counts as arithmetic when an operand follows.
func (sc *scanner) operator() {
	sc.opPending = sc.lastOperand
	sc.lastOperand = false
}

// other handles a decoded non-ASCII character.
func (sc *scanner) other(r rune) {
	st := &sc.textStats
	if sc.backticks > 0 {
		sc.flushBackticks()
	}
	switch {
	case r == 0x2019 || r == 0x2018: // curly apostrophes
		sc.punct('\'')
	case r == 0x2212 || r == 0xD7 || r == 0xF7 || r == 0xB1: // − × ÷ ±
		sc.endToken()
		st.mathSyms++
		sc.opPending = true
	case isMathRune(r):
		sc.endToken()
		st.mathSyms++
	case r >= 0xC0 && r < 0x2000:
		// a letter of another alphabet: part of a word, never looked up
		if sc.inNum {
			sc.endNumber()
		}
		if !sc.inWord {
			sc.startWord()
		}
		sc.wAlpha = false
		sc.wlen = maxWordLen + 1
		sc.lineLead = 3
	default:
		sc.endToken()
		sc.lineLead = 3
	}
	sc.lineChars++
	sc.lineLast = r
	sc.prev = r
}
