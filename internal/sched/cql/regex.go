package cql

import (
	"fmt"
	"regexp"
	"strings"
)

// posixClasses are Java's \p{...} POSIX classes and their RE2 names.
var posixClasses = map[string]string{
	"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha", "Digit": "digit",
	"Alnum": "alnum", "Punct": "punct", "Graph": "graph", "Print": "print", "Blank": "blank",
	"Cntrl": "cntrl", "XDigit": "xdigit", "Space": "space",
}

// compilePattern compiles the Java regular expression of a =~ or !~
// argument to match whole values.
func compilePattern(arg token) (*regexp.Regexp, error) {
	base := arg.pos
	if arg.kind == tokQuoted {
		base++
	}
	src, err := translateJava(arg.text)
	if err != nil {
		var se *SyntaxError
		if asSyntax(err, &se) {
			se.Pos += base
		}
		return nil, err
	}
	re, err := regexp.Compile("^(?:" + src + ")$")
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, &SyntaxError{Pos: arg.pos, Msg: fmt.Sprintf("expected a regular expression but found %s: %s", arg.describe(), msg)}
	}
	return re, nil
}

func asSyntax(err error, target **SyntaxError) bool {
	se, ok := err.(*SyntaxError)
	if ok {
		*target = se
	}
	return ok
}

// translateJava rewrites the parts of Java regex syntax that RE2 spells
// differently and refuses what RE2 cannot do. Positions in its errors are
// offsets into pat.
func translateJava(pat string) (string, error) {
	var b strings.Builder
	inClass := 0 // 1 inside [...]
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			n, err := translateEscape(&b, pat, i, inClass > 0)
			if err != nil {
				return "", err
			}
			i += n - 1
			continue
		case c == '[' && inClass > 0:
			return "", unsupported(i, "nested character class")
		case c == '[':
			inClass++
		case c == ']' && inClass > 0:
			inClass--
		case c == '&' && inClass > 0 && strings.HasPrefix(pat[i:], "&&"):
			return "", unsupported(i, "character class intersection (&&)")
		case c == '(' && inClass == 0:
			if err := checkGroup(pat, i); err != nil {
				return "", err
			}
		case strings.IndexByte("*+?}", c) >= 0 && inClass == 0 && i+1 < len(pat) && pat[i+1] == '+':
			return "", unsupported(i+1, "possessive quantifier")
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func unsupported(pos int, what string) error {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf("unsupported regular expression feature: %s", what)}
}

// checkGroup refuses group kinds RE2 lacks.
func checkGroup(pat string, i int) error {
	rest := pat[i:]
	switch {
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
		return unsupported(i, "look-ahead")
	case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		return unsupported(i, "look-behind")
	case strings.HasPrefix(rest, "(?>"):
		return unsupported(i, "atomic group")
	}
	return nil
}

// translateEscape writes the escape at pat[i] (a backslash) and returns how
// many bytes it used.
func translateEscape(b *strings.Builder, pat string, i int, inClass bool) (int, error) {
	e := pat[i+1]
	switch {
	case e >= '1' && e <= '9', e == 'k':
		return 0, unsupported(i, "back-reference")
	case e == 'G':
		return 0, unsupported(i, `\G`)
	case e == 'Z':
		b.WriteString(`(?:\n?\z)`)
		return 2, nil
	case e == 'h':
		b.WriteString(classBody(inClass, false, `\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`))
		return 2, nil
	case (e == 'p' || e == 'P') && i+2 < len(pat) && pat[i+2] == '{':
		end := strings.IndexByte(pat[i:], '}')
		if end < 0 {
			return 0, &SyntaxError{Pos: i, Msg: "expected \"}\" to close the \\p{ class"}
		}
		name := pat[i+3 : i+end]
		b.WriteString(propertyClass(name, e == 'P', inClass))
		return end + 1, nil
	}
	b.WriteString(pat[i : i+2])
	return 2, nil
}

// propertyClass translates \p{name} (or \P{name} when neg).
func propertyClass(name string, neg, inClass bool) string {
	if posix, ok := posixClasses[name]; ok {
		if inClass {
			if neg {
				return "[:^" + posix + ":]"
			}
			return "[:" + posix + ":]"
		}
		if neg {
			return "[^[:" + posix + ":]]"
		}
		return "[[:" + posix + ":]]"
	}
	name = strings.TrimPrefix(name, "Is") // Java's \p{IsLatin}, \p{IsLu}
	if neg {
		return `\P{` + name + `}`
	}
	return `\p{` + name + `}`
}

// classBody is a set of characters as a class, or its body inside one.
func classBody(inClass, neg bool, body string) string {
	switch {
	case inClass:
		return body
	case neg:
		return "[^" + body + "]"
	}
	return "[" + body + "]"
}
