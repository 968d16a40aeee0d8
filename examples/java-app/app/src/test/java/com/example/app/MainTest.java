package com.example.app;

import static org.junit.Assert.assertEquals;

import com.example.greeting.core.FriendlyGreeter;
import org.junit.Test;

public class MainTest {
    @Test
    public void greetsTheFirstArgument() {
        assertEquals("Hello, Grace!", Main.run(new FriendlyGreeter("Hello"), new String[] {"Grace"}));
    }

    @Test
    public void greetsTheWorldWithoutArguments() {
        assertEquals("Hello, world!", Main.run(new FriendlyGreeter("Hello"), new String[0]));
    }
}
