var builder = WebApplication.CreateSlimBuilder(args);
builder.WebHost.UseHalfClosePolicy();

var app = builder.Build();
app.MapGet("/", () => "Hello from Native AOT.\n");
app.MapGet("/slow", async (CancellationToken aborted) =>
{
    await Task.Delay(300, aborted);
    return "Slow hello from Native AOT.\n";
});
app.Run();
