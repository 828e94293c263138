using System.IO;
using System.Runtime.Serialization.Formatters.Binary;
using System.Text.Json;

class Loader
{
    object Load(Stream s)
    {
        // ruleid: csharp.insecure-deserializer
        var bf = new BinaryFormatter();
        // ruleid: csharp.insecure-deserializer
        var nd = new NetDataContractSerializer();
        // ok: csharp.insecure-deserializer
        var cfg = JsonSerializer.Deserialize<Config>(s);
        // ok: csharp.insecure-deserializer
        var dc = new DataContractSerializer(typeof(Config));
        return bf.Deserialize(s);
    }
}
