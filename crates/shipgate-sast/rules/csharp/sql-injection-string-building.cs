using System.Data.SqlClient;

class Repo
{
    void Find(SqlConnection conn, string id, string name)
    {
        // ruleid: csharp.sql-injection-string-building
        var cmd = new SqlCommand("SELECT * FROM Users WHERE Id = " + id, conn);
        // ruleid: csharp.sql-injection-string-building
        cmd.CommandText = $"SELECT * FROM Users WHERE Name = '{name}'";
        // ok: csharp.sql-injection-string-building
        var safe = new SqlCommand("SELECT * FROM Users WHERE Id = @id", conn);
        safe.Parameters.AddWithValue("@id", id);
        // ok: csharp.sql-injection-string-building
        cmd.CommandText = "SELECT COUNT(*) FROM Users";
    }
}
