using System.Data.SqlClient;

class Db
{
    SqlConnection Open(string cs)
    {
        // ruleid: csharp.hardcoded-connection-string-password
        var a = new SqlConnection("Server=db;Database=app;User Id=sa;Password=hunter2;");
        // ruleid: csharp.hardcoded-connection-string-password
        var b = new NpgsqlConnection("Host=db;Username=app;Pwd=s3cret");
        // ok: csharp.hardcoded-connection-string-password
        var c = new SqlConnection(cs);
        // ok: csharp.hardcoded-connection-string-password
        var d = new SqlConnection("Server=db;Database=app;Integrated Security=true;");
        return a;
    }
}
