package router

// Token and line bookkeeping of the scanner (see classify_features.go).

// isMathRune reports mathematical and logical notation: Greek letters,
// super/subscripts, arrows, mathematical operators, ¬ ² ³ ′ ″.
func isMathRune(r rune) bool {
	switch {
	case r == 0xAC || r == 0xB2 || r == 0xB3 || r == 0xB9 || r == 0x2032 || r == 0x2033:
		return true
	case r >= 0x0391 && r <= 0x03C9:
		return true
	case r >= 0x2070 && r <= 0x209F, r >= 0x2190 && r <= 0x22FF, r >= 0x27C0 && r <= 0x27EF, r >= 0x2980 && r <= 0x2AFF:
		return true
	}
	return false
}

func (sc *scanner) startNumber() {
	st := &sc.textStats
	if sc.choiceMark == 1 {
		sc.choiceMark = 0 // "e.g.", "A.B.": no space after the label
	}
	sc.inNum = true
	sc.numDot, sc.numSlash, sc.numComma, sc.numDec, sc.numFrac = false, false, false, false, false
	if sc.dollar {
		sc.dollar = false
	}
	if sc.opPending {
		st.arith++
		sc.opPending = false
	}
}

func (sc *scanner) endNumber() {
	st := &sc.textStats
	st.numbers++
	if sc.numFrac {
		st.fractions++
	}
	if sc.numComma {
		st.commas++ // "3, 4": a list comma, not a separator
	}
	sc.inNum = false
	sc.lastOperand = true
	if sc.numDot && !sc.numDec {
		sc.prev = '.' // "… 12." ends a sentence
	}
}

// markChoice notes an answer-option label: a single letter a–j that
// opens the line (after at most an opening parenthesis or dash), followed
// by '.' or ')'. It counts once a space follows ("A. Paris", "(b) 4 m/s",
// but not "e.g." or "A.B.").
func (sc *scanner) markChoice() {
	if sc.inWord && sc.wlen == 1 && sc.lineWords == 0 && sc.lineChars <= 2 && sc.word[0] >= 'a' && sc.word[0] <= 'j' {
		sc.choiceMark = 1
	}
}

func (sc *scanner) startWord() {
	if sc.choiceMark == 1 {
		sc.choiceMark = 0 // "e.g.", "A.B.": no space after the label
	}
	sc.inWord = true
	sc.wlen = 0
	sc.whash = hashSeed
	sc.wAlpha = true
	sc.wOpBef = sc.opPending
	sc.opPending = false
	sc.wFile = sc.prev == '.' && sc.dotAfterW
	if sc.backslash || sc.dollar {
		sc.textStats.latex++ // \frac, $x$
	}
	sc.backslash, sc.dollar, sc.dotAfterW = false, false, false
}

func (sc *scanner) addLetter(c byte) {
	if sc.wlen < maxWordLen {
		sc.word[sc.wlen] = c
		sc.whash = mixChar(sc.whash, c)
	}
	sc.wlen++
}

func (sc *scanner) endToken() {
	if sc.inWord {
		sc.endWord()
	} else if sc.inNum {
		sc.endNumber()
	}
}

func (sc *scanner) endWord() {
	st := &sc.textStats
	sc.inWord = false
	st.words++
	sc.lineWords++
	n := sc.wlen
	if n >= 10 && sc.wAlpha {
		st.longWords++
	}
	sc.lastOperand = n == 1
	if sc.wOpBef && n == 1 {
		st.arith++ // "2x + y", "a = b"
	}
	var cls wordClass
	if n <= maxWordLen {
		w := sc.word[:n]
		if sc.wantTag {
			if lang, ok := fenceLangs[string(w)]; ok {
				st.fenceLang = lang
			}
		}
		if sc.wFile {
			if _, ok := fenceLangs[string(w)]; ok {
				st.fileRefs++ // "main.go", "app.py"
			}
		}
		if n >= 2 {
			cls = lookupWord(sc.whash, w)
			for i, c := 0, cls; c != 0; i, c = i+1, c>>1 {
				if c&1 != 0 {
					st.cls[i]++
				}
			}
			if sc.whash == hashStep && sc.prevH[0] == hashBy && sc.prevH[1] == hashStep {
				st.stepByStep++
			}
		}
	}
	sc.wantTag = false
	if sc.lineWords == 1 {
		sc.lineFirst = cls
	}
	sc.prevH[1], sc.prevH[0] = sc.prevH[0], sc.whash
}

func (sc *scanner) flushBackticks() {
	if sc.backticks >= 3 {
		sc.textStats.fences++
		sc.inFence = !sc.inFence
		sc.wantTag = sc.inFence
	}
	sc.backticks = 0
}

// endLine classifies the finished line.
func (sc *scanner) endLine() {
	st := &sc.textStats
	if sc.backticks > 0 {
		sc.flushBackticks()
	}
	if sc.choiceMark == 2 {
		st.choiceLines++
		st.choiceTokens += st.words + st.numbers - sc.lineTok0 - 1
	}
	sc.choiceMark, sc.lineTok0 = 0, st.words+st.numbers
	if sc.lineChars > 0 {
		st.lines++
		switch {
		case sc.inFence && sc.lineLast != '`':
			st.codeLines++
		case sc.lineLast == ';' || sc.lineLast == '{' || sc.lineLast == '}':
			st.codeLines++
		case sc.lineFirst&wCodeKw != 0 && sc.linePunct >= 2:
			st.codeLines++
		case sc.lineIndent >= 4 && sc.linePunct >= 2:
			st.codeLines++
		}
	}
	sc.lineChars, sc.lineWords, sc.linePunct, sc.lineIndent = 0, 0, 0, 0
	sc.lineFirst, sc.lineLast, sc.lineLead = 0, 0, 0
	sc.opPending, sc.lastOperand, sc.wantTag = false, false, false
}
