import javax.script.ScriptEngine;
import javax.servlet.http.HttpServletRequest;

class Calc {
    Object calc(ScriptEngine engine, SpelExpressionParser parser, HttpServletRequest req) throws Exception {
        // ruleid: java.expression-injection
        Object a = engine.eval("var x = " + req.getParameter("x") + ";");
        // ruleid: java.expression-injection
        Object b = parser.parseExpression(req.getParameter("expr"));
        // ok: java.expression-injection
        Object c = engine.eval("1 + 1");
        // ok: java.expression-injection
        Object d = parser.parseExpression("#root.name");
        return a;
    }
}
