using System.Buffers;
using System.Runtime.CompilerServices;

namespace HalfClose.Kestrel.Internal;

/// <summary>
/// Send paths (<see cref="HalfCloseOutput"/>) kept between connections, one small stack per memory pool: a pipe only
/// ever rents from the pool it was made with, and each listener's pool lives and dies with it.
/// </summary>
internal static class OutputPool
{
    private static readonly int Capacity = Math.Min(Environment.ProcessorCount * 64, 1024);
    private static readonly ConditionalWeakTable<MemoryPool<byte>, Stack> Stacks = [];

    /// <summary>A send path made for <paramref name="pool"/> and returned since, or null.</summary>
    public static HalfCloseOutput? Rent(MemoryPool<byte> pool) =>
        Stacks.TryGetValue(pool, out var stack) ? stack.Pop() : null;

    public static void Return(HalfCloseOutput output) =>
        Stacks.GetValue(output.Pool, static _ => new Stack()).Push(output);

    private sealed class Stack
    {
        private readonly Lock _lock = new();
        private readonly HalfCloseOutput?[] _items = new HalfCloseOutput?[Capacity];
        private int _count;

        public HalfCloseOutput? Pop()
        {
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                var item = _items[--_count];
                _items[_count] = null;
                return item;
            }
        }

        public void Push(HalfCloseOutput output)
        {
            lock (_lock)
            {
                if (_count < _items.Length)
                {
                    _items[_count++] = output;
                }
            }
        }
    }
}
