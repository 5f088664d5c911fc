package cql

import (
	"fmt"
	"strings"
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokQuoted
	tokOp // comparison operator in symbol form
	tokNot
	tokAnd
	tokOr
	tokLParen
	tokRParen
	tokLBracket
	tokRBracket
	tokComma
)

type token struct {
	kind tokKind
	text string // for tokQuoted, the value without its quotes
	pos  int
}

// describe names the token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "the end of the expression"
	case tokQuoted:
		return fmt.Sprintf("'%s'", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// isValue reports whether the token can be a value: a bare or quoted word,
// including words that elsewhere are boolean operators ("attribute:x ==
// and" compares with the string "and").
func (t token) isValue() bool {
	switch t.kind {
	case tokWord, tokQuoted:
		return true
	case tokAnd, tokOr, tokNot:
		return t.text[0] != '&' && t.text[0] != '|' && t.text[0] != '!'
	}
	return false
}

// symbolOps are the operators written with symbols, longest first where one
// is a prefix of another.
var symbolOps = []string{"!exists", "!in", "==", "!=", "=~", "!~", ">=", "<=", ">", "<", "&&", "||"}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("()[],", c) >= 0:
			toks = append(toks, token{kind: punctKind(c), text: string(c), pos: i})
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, &SyntaxError{Pos: i, Msg: fmt.Sprintf("expected a closing %c for the value that starts here", c)}
			}
			toks = append(toks, token{kind: tokQuoted, text: s[i+1 : i+1+end], pos: i})
			i += end + 2
		default:
			t := lexOpOrWord(s, i)
			toks = append(toks, t)
			i += len(t.text)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

func punctKind(c byte) tokKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBracket
	case ']':
		return tokRBracket
	}
	return tokComma
}

func lexOpOrWord(s string, i int) token {
	for _, op := range symbolOps {
		if !strings.HasPrefix(s[i:], op) {
			continue
		}
		if op[0] == '!' && len(op) > 2 && !wordEnds(s, i+len(op)) {
			continue // "!existsfoo" is not "!exists"
		}
		switch op {
		case "&&":
			return token{kind: tokAnd, text: op, pos: i}
		case "||":
			return token{kind: tokOr, text: op, pos: i}
		}
		return token{kind: tokOp, text: op, pos: i}
	}
	if s[i] == '!' {
		return token{kind: tokNot, text: "!", pos: i}
	}
	j := i
	for j < len(s) && !wordStops(s, j) {
		j++
	}
	if j == i { // a stray '=', '&' or '|': a one-character word the parser rejects
		j++
	}
	w := s[i:j]
	switch strings.ToLower(w) {
	case "and":
		return token{kind: tokAnd, text: w, pos: i}
	case "or":
		return token{kind: tokOr, text: w, pos: i}
	case "not":
		return token{kind: tokNot, text: w, pos: i}
	}
	return token{kind: tokWord, text: w, pos: i}
}

// wordEnds reports whether position j ends a word.
func wordEnds(s string, j int) bool {
	return j >= len(s) || strings.IndexByte(" \t\n\r()[],'\"", s[j]) >= 0
}

// wordStops reports whether a bare word ends before s[j]: at white space,
// punctuation, quotes, and operators written without spaces around them.
func wordStops(s string, j int) bool {
	if wordEnds(s, j) {
		return true
	}
	switch s[j] {
	case '=', '<', '>':
		return true
	case '!':
		return j+1 < len(s) && (s[j+1] == '=' || s[j+1] == '~')
	case '&':
		return strings.HasPrefix(s[j:], "&&")
	case '|':
		return strings.HasPrefix(s[j:], "||")
	}
	return false
}
