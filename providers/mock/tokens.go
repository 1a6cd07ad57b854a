package mock

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitTokens cuts text into the mock's "tokens": each word or punctuation
// run together with the whitespace before it (" weather", "."), which is
// roughly how OpenAI's stream chunks look. One split drives the streamed
// chunks, completion_tokens and the max_tokens cut, so the three always
// agree, and the tokens concatenate back to text exactly.
func splitTokens(text string) []string {
	var toks []string
	i := 0
	for i < len(text) {
		start := i
		i = skipSpace(text, i)
		if i == len(text) {
			// Trailing whitespace has no word to lead; keep it on the
			// last token so nothing is lost.
			if len(toks) > 0 {
				toks[len(toks)-1] += text[start:]
			} else {
				toks = append(toks, text[start:])
			}
			break
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		word := isWordRune(r)
		i += n
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				break
			}
			if isWordRune(r) != word {
				// An apostrophe inside a word ("I'm") belongs to it.
				if word && isApostrophe(r) && i+n < len(text) {
					next, m := utf8.DecodeRuneInString(text[i+n:])
					if unicode.IsLetter(next) {
						i += n + m
						continue
					}
				}
				break
			}
			i += n
		}
		toks = append(toks, text[start:i])
	}
	return toks
}

func skipSpace(text string, i int) int {
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
}

func isApostrophe(r rune) bool { return r == '\'' || r == '\u2019' }

// firstRunes returns at most n runes of s with whitespace runs collapsed,
// so quoted excerpts stay on one readable line.
func firstRunes(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n])
}
