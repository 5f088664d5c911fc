// Package cql is the ECS cluster query language: the expressions of
// memberOf placement constraints and of ListContainerInstances filters
// (facts §5.4). Parse turns an expression into an Expr, or a *SyntaxError
// that says where the expression goes wrong and what was expected there;
// an Expr is then evaluated against anything that implements Instance.
//
//	expr      := orExpr
//	orExpr    := andExpr { ("||" | "or") andExpr }
//	andExpr   := unary   { ("&&" | "and") unary }
//	unary     := ("!" | "not") unary | "(" expr ")" | predicate
//	predicate := subject operator [argument]
//	argument  := VALUE | "[" VALUE { "," VALUE } "]"
//
// AWS documents no precedence; here not binds tightest, then and, then or.
// Patterns of =~ and !~ are Java regular expressions matched against the
// whole value; the subset RE2 can run is accepted (Java's POSIX classes
// such as \p{Alpha} are translated), and what it cannot (look-around,
// back-references, possessive quantifiers, atomic groups, class
// intersections) is a syntax error.
//
// It imports only the standard library.
package cql
