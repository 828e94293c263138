using Newtonsoft.Json;

class Settings
{
    JsonSerializerSettings Make()
    {
        var s = new JsonSerializerSettings();
        // ruleid: csharp.json-typenamehandling
        s.TypeNameHandling = TypeNameHandling.All;
        // ruleid: csharp.json-typenamehandling
        var t = new JsonSerializerSettings { TypeNameHandling = TypeNameHandling.Auto };
        // ok: csharp.json-typenamehandling
        s.TypeNameHandling = TypeNameHandling.None;
        // ok: csharp.json-typenamehandling
        var u = new JsonSerializerSettings { NullValueHandling = NullValueHandling.Ignore };
        return s;
    }
}
