package workload

import (
	"fmt"
	"iter"
	"strings"
)

// The lexer and parser of Nested: statements "x = expr;" over integers, +,
// -, *, / and parentheses; each statement's value is yielded.

type tokenKind int

const (
	tEOF tokenKind = iota
	tNum
	tIdent
	tOp // + - * / ( ) = ;
)

type token1 struct {
	kind tokenKind
	op   byte
	num  int
}

// program writes n statements whose expressions nest parentheses a few
// levels deep.
func program(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "v%d = (%d + %d * (%d - %d)) / (1 + (%d * (2 + %d)));\n", i, i, i%7, i%13, i%5, i%3, i%11)
	}
	return b.String()
}

// lex is the lexer coroutine's body: it yields src's tokens.
func lex(src string) iter.Seq[token1] {
	return func(yield func(token1) bool) {
		for i := 0; i < len(src); {
			c := src[i]
			switch {
			case c == ' ' || c == '\n':
				i++
			case c >= '0' && c <= '9':
				v := 0
				for ; i < len(src) && src[i] >= '0' && src[i] <= '9'; i++ {
					v = 10*v + int(src[i]-'0')
				}
				if !yield(token1{kind: tNum, num: v}) {
					return
				}
			case c >= 'a' && c <= 'z':
				for i++; i < len(src) && (src[i] >= 'a' && src[i] <= 'z' || src[i] >= '0' && src[i] <= '9'); i++ {
				}
				if !yield(token1{kind: tIdent}) {
					return
				}
			default:
				i++
				if !yield(token1{kind: tOp, op: c}) {
					return
				}
			}
		}
	}
}

// parserState is a recursive-descent parser over a token iterator.
type parserState struct {
	next func() token1
	tok  token1
}

func (p *parserState) advance() { p.tok = p.next() }

func (p *parserState) isOp(op byte) bool { return p.tok.kind == tOp && p.tok.op == op }

// statement parses "ident = expr ;".
func (p *parserState) statement() int {
	p.advance() // the name
	p.advance() // =
	v := p.expr()
	p.advance() // ;
	return v
}

func (p *parserState) expr() int {
	v := p.term()
	for p.isOp('+') || p.isOp('-') {
		op := p.tok.op
		p.advance()
		if w := p.term(); op == '+' {
			v += w
		} else {
			v -= w
		}
	}
	return v
}

func (p *parserState) term() int {
	v := p.factor()
	for p.isOp('*') || p.isOp('/') {
		op := p.tok.op
		p.advance()
		w := p.factor()
		switch {
		case op == '*':
			v *= w
		case w != 0:
			v /= w
		}
	}
	return v
}

func (p *parserState) factor() int {
	if p.isOp('(') {
		p.advance()
		v := p.expr()
		p.advance() // )
		return v
	}
	v := p.tok.num
	p.advance()
	return v
}
