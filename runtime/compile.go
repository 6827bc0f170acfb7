package runtime

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// HandlerFunction is the function an event_handler script must define.
const HandlerFunction = "handle_websocket_websocket_info"

// Handler is a compiled script, shared by every runtime of the pool. Compile it
// once; running it costs no parsing.
type Handler struct {
	// Name is the script's file name (or endpoint), used in errors and logs.
	Name string
	// Label and Version name the deploy in metrics; set them before the
	// first run.
	Label   string
	Version int64
	prog    *goja.Program
	// events holds the resolved metric children, set on first run.
	events atomic.Pointer[handlerMetrics]
}

// CompileError reports a script that does not compile, at its position in the
// script as written (the wrapper the gateway adds is not counted).
type CompileError struct {
	File    string
	Line    int
	Column  int
	Message string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

// The wrappers put the script on the first line of the program, so that lines
// match the file and only columns on line 1 shift by len(prefix).
const (
	endpointPrefix = "(function(websocketInfo){"
	endpointSuffix = "\n})"
	handlerPrefix  = "(function(){"
	handlerSuffix  = "\n;return " + HandlerFunction + "})()"
)

// Compile compiles an endpoint script: the body of a function that receives
// websocketInfo, so that it may `return` a reply.
func Compile(name, src string) (*Handler, error) {
	return compile(name, src, endpointPrefix, endpointSuffix, nil)
}

// CompileEventHandler compiles an event_handler script, which must define
// handle_websocket_websocket_info(websocketInfo) at its top level. Its top-level
// code runs once in each pooled runtime; the function then gets every event.
func CompileEventHandler(name, src string) (*Handler, error) {
	return compile(name, src, handlerPrefix, handlerSuffix, func(body []ast.Statement) error {
		if definesFunction(body, HandlerFunction) {
			return nil
		}
		return &CompileError{File: name, Line: 1, Column: 1, Message: "the script does not define function " + HandlerFunction + "(websocketInfo)"}
	})
}

func compile(name, src, prefix, suffix string, check func([]ast.Statement) error) (*Handler, error) {
	wrapped := prefix + src + suffix
	prg, err := parser.ParseFile(nil, name, wrapped, 0)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, positionError(name, src, len(prefix), list[0].Position, list[0].Message)
		}
		return nil, &CompileError{File: name, Line: 1, Column: 1, Message: err.Error()}
	}
	fn := wrappedFunction(prg)
	if fn == nil {
		return nil, &CompileError{File: name, Line: 1, Column: 1, Message: "unbalanced braces: the script closes the function it is wrapped in"}
	}
	if check != nil {
		if err := check(fn.Body.List); err != nil {
			return nil, err
		}
	}
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			return nil, positionError(name, src, len(prefix), ce.File.Position(ce.Offset), ce.Message)
		}
		return nil, &CompileError{File: name, Line: 1, Column: 1, Message: err.Error()}
	}
	return &Handler{Name: name, prog: p}, nil
}

// wrappedFunction returns the one function literal the wrapper made, or nil if
// the script escaped it (a stray "})" followed by more statements).
func wrappedFunction(prg *ast.Program) *ast.FunctionLiteral {
	if len(prg.Body) != 1 {
		return nil
	}
	stmt, ok := prg.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return nil
	}
	switch e := stmt.Expression.(type) {
	case *ast.FunctionLiteral:
		return e
	case *ast.CallExpression:
		if fn, ok := e.Callee.(*ast.FunctionLiteral); ok && len(e.ArgumentList) == 0 {
			return fn
		}
	}
	return nil
}

func definesFunction(body []ast.Statement, name string) bool {
	for _, s := range body {
		switch d := s.(type) {
		case *ast.FunctionDeclaration:
			if d.Function.Name != nil && string(d.Function.Name.Name) == name {
				return true
			}
		case *ast.VariableStatement:
			for _, b := range d.List {
				if id, ok := b.Target.(*ast.Identifier); ok && string(id.Name) == name {
					return true
				}
			}
		case *ast.LexicalDeclaration:
			for _, b := range d.List {
				if id, ok := b.Target.(*ast.Identifier); ok && string(id.Name) == name {
					return true
				}
			}
		}
	}
	return false
}

// positionError maps a position in the wrapped program back to the script.
func positionError(name, src string, prefixLen int, pos file.Position, msg string) *CompileError {
	line, col := pos.Line, pos.Column
	if line == 1 {
		col -= prefixLen
	}
	lines := strings.Count(src, "\n") + 1
	if line > lines { // the error is in the wrapper's tail: report the end of the script
		line = lines
		col = len(src) - strings.LastIndexByte(src, '\n')
	}
	if col < 1 {
		col = 1
	}
	return &CompileError{File: name, Line: line, Column: col, Message: msg}
}
