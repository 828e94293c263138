using System.Net;
using System.Net.Http;

class Tls
{
    HttpClient Make()
    {
        // ruleid: csharp.cert-validation-disabled
        ServicePointManager.ServerCertificateValidationCallback = (sender, cert, chain, errors) => true;
        var handler = new HttpClientHandler();
        // ruleid: csharp.cert-validation-disabled
        handler.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
        // ok: csharp.cert-validation-disabled
        handler.ServerCertificateCustomValidationCallback = (msg, cert, chain, errors) => errors == System.Net.Security.SslPolicyErrors.None;
        // ok: csharp.cert-validation-disabled
        handler.CheckCertificateRevocationList = true;
        return new HttpClient(handler);
    }
}
