function Comment({ body }) {
  // ruleid: javascript.react-dangerously-set-inner-html
  const a = <div className="c" dangerouslySetInnerHTML={{ __html: body }} />;
  // ruleid: javascript.react-dangerously-set-inner-html
  const b = React.createElement("div", { dangerouslySetInnerHTML: { __html: body } });
  // ok: javascript.react-dangerously-set-inner-html
  const c = <div className="c">{body}</div>;
  // ok: javascript.react-dangerously-set-inner-html
  const d = <div dangerouslySetInnerHTML={{ __html: DOMPurify.sanitize(body) }} />;
  return [a, b, c, d];
}
