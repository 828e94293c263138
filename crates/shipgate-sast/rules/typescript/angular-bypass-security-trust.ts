import { DomSanitizer, SafeHtml } from "@angular/platform-browser";

class Preview {
  constructor(private sanitizer: DomSanitizer) {}

  render(html: string, url: string): SafeHtml[] {
    // ruleid: typescript.angular-bypass-security-trust
    const a = this.sanitizer.bypassSecurityTrustHtml(html);
    // ruleid: typescript.angular-bypass-security-trust
    const b = this.sanitizer.bypassSecurityTrustResourceUrl(url);
    // ok: typescript.angular-bypass-security-trust
    const c = this.sanitizer.bypassSecurityTrustHtml("<b>static</b>");
    // ok: typescript.angular-bypass-security-trust
    const d = this.sanitizer.sanitize(1, html);
    return [a, b, c, d];
  }
}
