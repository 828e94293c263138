using System.Diagnostics;

class Runner
{
    void Run(string dir)
    {
        // ruleid: csharp.process-start-injection
        Process.Start("cmd.exe", "/c dir " + dir);
        var psi = new ProcessStartInfo("tar");
        // ruleid: csharp.process-start-injection
        psi.Arguments = $"czf out.tgz {dir}";
        // ok: csharp.process-start-injection
        psi.ArgumentList.Add(dir);
        // ok: csharp.process-start-injection
        Process.Start("notepad.exe", "readme.txt");
    }
}
