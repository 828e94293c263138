using System.Security.Cryptography;

class Crypto
{
    void Use(byte[] data)
    {
        // ruleid: csharp.weak-crypto
        var md5 = MD5.Create();
        // ruleid: csharp.weak-crypto
        var des = new DESCryptoServiceProvider();
        var aes = Aes.Create();
        // ruleid: csharp.weak-crypto
        aes.Mode = CipherMode.ECB;
        // ok: csharp.weak-crypto
        var sha = SHA256.Create();
        // ok: csharp.weak-crypto
        aes.Mode = CipherMode.CBC;
    }
}
